"""OpenAI MRCR (multi-round co-reference resolution, the openai/mrcr dataset) as tasks ``mrcr_2``, ``mrcr_4`` and
``mrcr_8``: a long synthetic conversation hides 2, 4 or 8 identical requests ("write a poem about tapirs"), and the
last user message asks for the i-th answer to one of them, prefixed with a random string.

A row's ``prompt`` is a JSON list of chat messages. Every message but the last becomes the ``context``, one turn per
line, ``User: ...`` / ``Assistant: ...`` (``System: ...`` where there is one), as the published Glyph evaluation
renders MRCR (thu-coai/Glyph ``evaluation/readme.md``); newlines inside a message stay newlines (Glyph's processed
data shows them as the two characters ``\\n``: the renderer's newline marker is the θ way to draw them compactly).
The last user message, the request, stays text: ``after`` is a newline and that message, as Glyph sends its
question after the pages. ``before`` is empty: the conversation opens with MRCR's own framing (its first message
explains the task with worked examples), and anything added would change the benchmark.

``references`` is the row's ``answer``, ``extra`` its ``random_string_to_prepend``; the scorer is
``metrics.score("mrcr", ...)`` (0 unless the response starts with that string, else difflib's ratio without it).
``max_tokens`` is 8192, the budget of Glyph's MRCR evaluation (answers are single pieces of writing).

Bins are MRCR's: by the prompt's token count, the sum over all its messages' contents as MRCR's reference code
counts it, here with glyphpress's tokenizer (``Options.tokenizer``, Qwen2.5 by default; MRCR's o200k counts differ
by a few percent, so a row near an edge can land in the neighbouring bin): ``4K-8K`` is [4096, 8192], then
``8K-16K`` (8192, 16384] ... ``512K-1M`` (524288, 1048576]; ``<4K`` and ``>1M`` outside. Only the chosen rows are
counted. ``Sample.length`` is that count; ``id`` is the file's stem and the row's index in it (``2needle_0-17``).

Data is never downloaded. ``Options.data`` (else ``$GLYPHPRESS_MRCR``, else the local Hugging Face hub cache of
openai/mrcr) may be a folder laid out as the hub's main branch (``2needle/2needle_0.parquet``,
``2needle/2needle_1.parquet``, ``4needle/`` ...), the earlier ``2needle.parquet`` at its top, the converted
``default/train/*.parquet``, a folder of such files (``2needle_*.parquet`` or any Parquet/JSONL file whose name
names no other needle count), or one Parquet/JSONL file; rows are kept whose ``n_needles`` is the task's. Parquet
needs pyarrow; only the chosen rows' conversations are read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import GlyphpressError
from ..tokens.text import count_tokens, text_tokenizer
from . import metrics
from .datafiles import (
    DataFile,
    choose,
    first_line,
    locate,
    pyarrow_missing,
    pyarrow_parquet,
    read_records,
)
from .task import Options, Sample, Task, register

URL = "https://huggingface.co/datasets/openai/mrcr"
ENV = "GLYPHPRESS_MRCR"
HUB = ("openai/mrcr",)
NEEDLES = (2, 4, 8)
MAX_TOKENS = 8192
ROLES = {"user": "User", "assistant": "Assistant", "system": "System"}
BIN_EDGES = (4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576)
COLUMNS = ("prompt", "answer", "random_string_to_prepend", "n_needles", "desired_msg_index", "total_messages",
           "n_chars")


def _label(tokens: int) -> str:
    return "1M" if tokens == 1048576 else f"{tokens // 1024}K"


def token_bin(tokens: int) -> str:
    """MRCR's bin of a prompt's token count: [4096, 8192] is ``4K-8K``, then (8192, 16384] is ``8K-16K`` ... up
    to (524288, 1048576], ``512K-1M``; ``<4K`` below and ``>1M`` above."""
    if tokens < BIN_EDGES[0]:
        return "<4K"
    for lo, hi in zip(BIN_EDGES, BIN_EDGES[1:]):
        if tokens <= hi:
            return f"{_label(lo)}-{_label(hi)}"
    return ">1M"


def render_turns(messages: list[dict]) -> str:
    """One ``Role: content`` line per message, joined by newlines."""
    return "\n".join(f"{ROLES[m['role']]}: {m['content']}" for m in messages)


def _files_in(root: Path, needles: int) -> list[DataFile] | None:
    if root.is_file():
        return [DataFile(root)]
    if not root.is_dir():
        return None
    own = f"{needles}needle"
    layouts = [(root / own, "*.parquet"),  # the hub's main branch: 2needle/2needle_0.parquet ...
               (root, f"{own}.parquet"),  # its first release
               (root / "default" / "train", "*.parquet"),  # refs/convert/parquet, every needle count together
               (root, f"{own}_*.parquet"), (root / own, "*.jsonl")]
    for folder, pattern in layouts:
        files = sorted(folder.glob(pattern))
        if files:
            return [DataFile(f) for f in files]
    other = re.compile(r"(\d+)needle")  # a file named for another needle count is not this task's
    files = [f for f in sorted(root.glob("*.parquet")) + sorted(root.glob("*.jsonl"))
             if (m := other.match(f.name)) is None or m.group(1) == str(needles)]
    return [DataFile(f) for f in files] or None


def _locate(needles: int, options: Options) -> tuple[list[DataFile] | None, str]:
    return locate(options, ENV, HUB, lambda place: _files_in(place, needles), "MRCR",
                  f"{needles}needle/*.parquet (nor other MRCR Parquet or JSONL files)",
                  f"download the {needles}needle/ Parquet files of {URL} (hf download openai/mrcr --repo-type "
                  f"dataset --local-dir DIR) and pass --data DIR or set {ENV}=DIR")


def _missing(needles: int):
    def missing(options: Options) -> str | None:
        files, why = _locate(needles, options)
        return why if files is None else pyarrow_missing(files)

    return missing


def _rows(files: list[DataFile], needles: int, n: int, seed: int) -> list[tuple[str, DataFile, int, dict]]:
    """The chosen rows with ``needles`` needles, as (where, file, row index in it, record). Of a Parquet file only
    the ``n_needles`` column is read for every row, then the row groups holding chosen rows (MRCR's files are
    large)."""
    found: list[tuple[str, DataFile, int, dict | None]] = []
    for f in files:
        if f.parquet:
            pq = pyarrow_parquet()
            try:
                counts = pq.read_table(f.path, columns=["n_needles"]).column(0).to_pylist()
            except (OSError, ValueError, KeyError) as e:
                raise GlyphpressError(f"{f}: not an MRCR Parquet file with an n_needles column ({first_line(e)})"
                                      ) from None
            found += [(f"{f} row {i}", f, i, None) for i, k in enumerate(counts) if k == needles]
        else:
            for i, (where, record) in enumerate(read_records(f)):
                if record.get("n_needles") == needles:
                    found.append((where, f, i, record))
    if not found:
        raise GlyphpressError(f"no {needles}-needle rows in {', '.join(map(str, files))}: is this openai/mrcr data? "
                              f"(see {URL})")
    chosen = [found[i] for i in choose(len(found), n, seed)]
    wanted: dict[DataFile, list[int]] = {}
    for _, f, i, record in chosen:
        if record is None:
            wanted.setdefault(f, []).append(i)
    read = {(f, i): row for f, rows in wanted.items() for i, row in _parquet_rows(f, rows).items()}
    return [(where, f, i, record if record is not None else read[f, i]) for where, f, i, record in chosen]


def _parquet_rows(f: DataFile, indices: list[int]) -> dict[int, dict]:
    """Rows ``indices`` (ascending) of a Parquet file, reading each row group that holds one once."""
    pq = pyarrow_parquet()
    out: dict[int, dict] = {}
    try:
        pf = pq.ParquetFile(f.path)
        names = [c for c in COLUMNS if c in pf.schema_arrow.names]
        start, todo = 0, list(indices)
        for group in range(pf.metadata.num_row_groups):
            end = start + pf.metadata.row_group(group).num_rows
            here = [i for i in todo if i < end]
            if here:
                table = pf.read_row_group(group, columns=names)
                for i in here:
                    out[i] = table.slice(i - start, 1).to_pylist()[0]
                todo = todo[len(here):]
                del table
            start = end
    except (OSError, ValueError) as e:
        raise GlyphpressError(f"{f}: not a readable Parquet file ({first_line(e)})") from None
    return out


def _messages(record: dict, where: str) -> list[dict]:
    prompt = record.get("prompt")
    try:
        messages = json.loads(prompt) if isinstance(prompt, str) else prompt
    except ValueError:
        raise GlyphpressError(f"{where}: field 'prompt' is not JSON; is this openai/mrcr data?") from None
    ok = isinstance(messages, list) and len(messages) >= 2 and all(
        isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str) for m in messages)
    if not ok:
        raise GlyphpressError(f"{where}: field 'prompt' is not a list of chat messages (role user, assistant or "
                              "system, text content); is this openai/mrcr data?")
    if messages[-1]["role"] != "user":
        raise GlyphpressError(f"{where}: the conversation does not end with the user's request")
    return messages


def _sample(task: Task, where: str, f: DataFile, index: int, record: dict, tokenizer) -> Sample:
    messages = _messages(record, where)
    answer, prefix = record.get("answer"), record.get("random_string_to_prepend")
    if not isinstance(answer, str) or not isinstance(prefix, str):
        raise GlyphpressError(f"{where}: fields 'answer' and 'random_string_to_prepend' must be text; "
                              "is this openai/mrcr data?")
    tokens = sum(count_tokens(tokenizer, m["content"]) for m in messages)
    info = {k: record[k] for k in ("desired_msg_index", "total_messages", "n_chars") if record.get(k) is not None}
    return Sample(task=task.name, id=f"{Path(f.name).stem}-{index}", context=render_turns(messages[:-1]), before="",
                  after="\n" + messages[-1]["content"], references=[answer], max_tokens=MAX_TOKENS,
                  bin=token_bin(tokens), length=tokens, extra={"random_string_to_prepend": prefix}, info=info)


def _build(task: Task, n: int, length: int | None, seed: int, options: Options) -> list[Sample]:
    """Rows with the task's needle count, in file order (files sorted by name); ``length`` is ignored. ``n`` None
    or <= 0: every row; else the first ``n`` when ``seed`` is 0, else ``n`` rows drawn with
    ``random.Random(seed)`` (kept in file order)."""
    needles = int(task.name.rsplit("_", 1)[1])
    files, why = _locate(needles, options)
    if files is None:
        raise GlyphpressError(f"{task.name}: {why}")
    tokenizer = text_tokenizer(options.tokenizer)
    return [_sample(task, *row, tokenizer) for row in _rows(files, needles, n, seed)]


def _score(sample: Sample, prediction: str) -> float:
    return metrics.score("mrcr", prediction, sample.references, **sample.extra)


for _needles in NEEDLES:
    register(Task(name=f"mrcr_{_needles}", family="mrcr", build=_build, scorer=_score, missing=_missing(_needles),
                  source=f"OpenAI MRCR, {_needles} needles: {_needles}needle/*.parquet of openai/mrcr (local)"))
