"""LongBench v1 (21 tasks), LongBench-E (13 tasks, named ``NAME_e``) and LongBench v2 (``longbench_v2``), read from
local files, prompted and scored as THUDM/LongBench does.

Prompts and generation budgets are LongBench's own (``prompts/longbench.json`` holds them unchanged:
``LongBench/config/dataset2prompt.json`` and ``dataset2maxlen.json`` for v1 and E, ``prompts/0shot.txt`` for v2).
A sample's ``before`` is the template up to ``{context}``, ``context`` the row's context (the only part rendered as
pages), ``after`` the rest with ``{input}`` filled in, so that the three pieces joined are exactly the prompt
LongBench's ``pred.py`` builds (before its middle truncation, which is the harness's business). v2's template
(``$DOC$``, ``$Q$``, ``$C_A$`` ...) is filled in the reference's order, on its stripped context; its budget is the
reference's 128 tokens (``pred.py`` without chain of thought). v1 and E are scored with ``metrics.score``; v2 by the
letter found with the reference's "The correct answer is (X)" rule (``extract_choice``), 1 or 0.

Bins: ``all`` for v1; for E, LongBench's ``eval.py`` bins of the row's ``length`` field (a word count, characters
for Chinese): ``0-4k`` below 4000, ``4-8k`` below 8000, else ``8k+``; for v2 the row's length group (short, medium,
long), with its difficulty, domain and sub-domain in ``info``. ``Sample.length`` is the row's ``length`` field (v1
and E; None for v2).

Data is never downloaded. ``Options.data`` (else ``$GLYPHPRESS_LONGBENCH`` / ``$GLYPHPRESS_LONGBENCH_V2``, else the
local Hugging Face hub cache of THUDM/LongBench, zai-org/LongBench and their -v2) may be:

- v1 and E: LongBench's ``data.zip`` (``data/NAME.jsonl`` inside), or a folder holding ``NAME.jsonl``,
  ``data/NAME.jsonl`` or ``data.zip``, or the hub's Parquet layouts ``NAME/test-00000-of-00001.parquet``
  (main branch), ``NAME/test/0000.parquet`` or ``NAME/long_bench-test.parquet`` (refs/convert/parquet);
- v2: THUDM/LongBench-v2's ``data.json`` (a JSON array), or a folder holding it (or ``longbench_v2.json``,
  ``longbench_v2.jsonl``, ``data.jsonl``), or the converted Parquet files ``default/train/*.parquet``;
- one JSONL, JSON or Parquet file for one task (a file whose name says it belongs to another task is refused).

Parquet needs pyarrow; the file readers are in ``datafiles.py``.
"""

from __future__ import annotations

import functools
import json
import re
import zipfile
from importlib import resources
from pathlib import Path

from ..errors import GlyphpressError
from . import metrics
from .datafiles import DataFile, choose, first_line, locate, pyarrow_missing, read_records
from .task import Options, Sample, Task, register

DATA_ZIP_URL = "https://huggingface.co/datasets/THUDM/LongBench/resolve/main/data.zip"
V2_URL = "https://huggingface.co/datasets/THUDM/LongBench-v2/resolve/main/data.json"
ENV_V1 = "GLYPHPRESS_LONGBENCH"
ENV_V2 = "GLYPHPRESS_LONGBENCH_V2"
HUB_V1 = ("THUDM/LongBench", "zai-org/LongBench")
HUB_V2 = ("THUDM/LongBench-v2", "zai-org/LongBench-v2")
V2_TASK = "longbench_v2"
V2_FIELDS = ("_id", "question", "choice_A", "choice_B", "choice_C", "choice_D", "answer", "context")
# names the hub's Parquet files go by, which say nothing about the dataset (the folder above them does)
_GENERIC_STEM = re.compile(r"(test|train)(-\d+-of-\d+)?|\d+|long_bench-test|data")


@functools.cache
def config() -> dict:
    """The bundled LongBench prompt file (templates, generation budgets, the E datasets, v2's template)."""
    text = (resources.files("glyphpress") / "bench" / "prompts" / "longbench.json").read_text(encoding="utf-8")
    return json.loads(text)


def _dataset_named_by(path: Path) -> str | None:
    """The dataset a file's name says it holds (``qasper_e.jsonl``, ``qasper/test-00000-of-00001.parquet``)."""
    parts = [path.name.split(".")[0], path.parent.name, path.parent.parent.name]
    for part in parts:
        if not _GENERIC_STEM.fullmatch(part):
            return part
    return None


def _zip_member(path: Path, names: list[str]) -> DataFile | None:
    try:
        with zipfile.ZipFile(path) as z:
            members = set(z.namelist())
    except (OSError, zipfile.BadZipFile) as e:
        raise GlyphpressError(f"{path}: not a readable zip archive ({first_line(e)})") from None
    return next((DataFile(path, m) for m in names if m in members), None)


# ---- LongBench v1 and LongBench-E ----------------------------------------------------------------------
def _v1_task_names() -> list[str]:
    return list(config()["dataset2prompt"]) + [f"{d}_e" for d in config()["longbench_e"]]


def _v1_files_in(root: Path, name: str) -> list[DataFile] | None:
    """Where ``root`` (a file, zip or folder) keeps task ``name``'s rows, or None."""
    members = [f"data/{name}.jsonl", f"{name}.jsonl"]
    if root.is_file() and root.suffix.lower() == ".zip":
        member = _zip_member(root, members)
        return [member] if member else None
    if root.is_file():
        return [DataFile(root)]
    if not root.is_dir():
        return None
    for candidate in (root / f"{name}.jsonl", root / "data" / f"{name}.jsonl", root / f"{name}.parquet"):
        if candidate.is_file():
            return [DataFile(candidate)]
    for folder in (root / name / "test", root / name):
        files = sorted(folder.glob("*.parquet"))
        if files:
            return [DataFile(f) for f in files]
    if (root / "data.zip").is_file():
        return _v1_files_in(root / "data.zip", name)
    return None


def _v1_locate(name: str, options: Options) -> tuple[list[DataFile] | None, str]:
    """Task ``name``'s files, or None and a one-line message saying how to get them."""
    def another_tasks(root: Path, shown: str) -> str | None:
        other = _dataset_named_by(root) if root.is_file() and root.suffix.lower() != ".zip" else None
        if other and other != name and other in _v1_task_names():
            return (f"{shown} holds {other}'s rows, not {name}'s: run only task {other} with it, or pass the "
                    "folder holding every task's file")
        return None

    return locate(options, ENV_V1, HUB_V1, lambda place: _v1_files_in(place, name), "LongBench",
                  f"{name}.jsonl (nor data/{name}.jsonl, {name}/*.parquet or a data.zip holding it)",
                  f"download {DATA_ZIP_URL}, unzip it and pass --data DIR (the unzipped folder) or set {ENV_V1}=DIR",
                  another_tasks)


def _v1_missing(name: str):
    def missing(options: Options) -> str | None:
        files, why = _v1_locate(name, options)
        return why if files is None else pyarrow_missing(files)

    return missing


def _text(record: dict, key: str, where: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise GlyphpressError(f"{where}: field {key!r} is missing or not text; is this a LongBench file?")
    return value


def _v1_sample(task: Task, dataset: str, record: dict, where: str) -> Sample:
    template: str = config()["dataset2prompt"][dataset]
    head, tail = template.split("{context}")
    answers = record.get("answers")
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise GlyphpressError(f"{where}: field 'answers' is missing or not a list of texts; is this a LongBench file?")
    length = record.get("length")
    if not isinstance(length, int) or isinstance(length, bool):
        raise GlyphpressError(f"{where}: field 'length' is missing or not a whole number; is this a LongBench file?")
    classes = record.get("all_classes")
    if classes is not None and (not isinstance(classes, list) or not all(isinstance(c, str) for c in classes)):
        raise GlyphpressError(f"{where}: field 'all_classes' is not a list of class names")
    fields = {k: v for k, v in record.items() if k != "context"}
    try:  # as pred.py's str.format(**row): only the template's own braces are read
        before, after = head.format(**fields), tail.format(**fields)
    except KeyError as e:
        raise GlyphpressError(f"{where}: field {e.args[0]!r} is missing; is this a LongBench file?") from None
    if task.family == "longbench-e":
        bin_ = "0-4k" if length < 4000 else "4-8k" if length < 8000 else "8k+"
    else:
        bin_ = "all"
    return Sample(task=task.name, id=_text(record, "_id", where), context=_text(record, "context", where),
                  before=before, after=after, references=list(answers),
                  max_tokens=config()["dataset2maxlen"][dataset], bin=bin_, length=length,
                  extra={"all_classes": list(classes)} if classes is not None else {})


def _v1_build(task: Task, n: int, length: int | None, seed: int, options: Options) -> list[Sample]:
    """The rows of the task's local file in file order (``length`` is ignored): every row when ``n`` is None or
    <= 0, else the first ``n`` when ``seed`` is 0, else ``n`` drawn with ``random.Random(seed)`` (``choose``)."""
    files, why = _v1_locate(task.name, options)
    if files is None:
        raise GlyphpressError(f"{task.name}: {why}")
    dataset = task.name[:-2] if task.family == "longbench-e" else task.name
    records = [r for f in files for r in read_records(f)]
    return [_v1_sample(task, dataset, records[i][1], records[i][0]) for i in choose(len(records), n, seed)]


def _v1_score(sample: Sample, prediction: str) -> float:
    dataset = sample.task[:-2] if sample.task.endswith("_e") else sample.task
    return metrics.score(dataset, prediction, sample.references, **sample.extra)


# ---- LongBench v2 --------------------------------------------------------------------------------------
def extract_choice(response: str) -> str | None:
    """The chosen letter as LongBench v2's ``pred.py`` finds it: ``*`` removed, then "The correct answer is (X)",
    else "The correct answer is X", X in A-D; None when neither is there."""
    text = response.strip().replace("*", "")
    found = re.search(r"The correct answer is \(([A-D])\)", text) or re.search(r"The correct answer is ([A-D])", text)
    return found.group(1) if found else None


def _v2_files_in(root: Path) -> list[DataFile] | None:
    if root.is_file():
        return [DataFile(root)]
    if not root.is_dir():
        return None
    for name in ("data.json", "longbench_v2.json", "longbench_v2.jsonl", "data.jsonl"):
        if (root / name).is_file():
            return [DataFile(root / name)]
    for folder, pattern in ((root / "default" / "train", "*.parquet"), (root / "data", "train-*.parquet"),
                            (root, "train-*.parquet")):
        files = sorted(folder.glob(pattern))
        if files:
            return [DataFile(f) for f in files]
    return None


def _v2_locate(options: Options) -> tuple[list[DataFile] | None, str]:
    get = f"download {V2_URL} and pass --data FILE (or the folder holding it) or set {ENV_V2}=FILE"

    def a_v1_task(root: Path, shown: str) -> str | None:
        other = _dataset_named_by(root) if root.is_file() else None
        return f"{shown} holds LongBench v1 task {other}'s rows, not LongBench v2's: {get}" \
            if other in _v1_task_names() else None

    return locate(options, ENV_V2, HUB_V2, _v2_files_in, "LongBench v2", "data.json (nor default/train/*.parquet)",
                  get, a_v1_task)


def _v2_missing(options: Options) -> str | None:
    files, why = _v2_locate(options)
    return why if files is None else pyarrow_missing(files)


def _v2_sample(task: Task, record: dict, where: str) -> Sample:
    values = {k: _text(record, k, where) for k in V2_FIELDS}
    for key in ("length", "difficulty"):
        _text(record, key, where)
    if values["answer"] not in ("A", "B", "C", "D"):
        raise GlyphpressError(f"{where}: field 'answer' is {values['answer']!r}, not a letter A-D")
    pairs = [("$Q$", values["question"].strip())] + [(f"$C_{c}$", values[f"choice_{c}"].strip()) for c in "ABCD"]

    def fill(text: str) -> str:
        # pred.py replaces $DOC$ first, then $Q$, $C_A$ ... in the whole prompt, the context included
        for mark, value in pairs:
            text = text.replace(mark, value)
        return text

    head, tail = config()["v2_0shot"].split("$DOC$")
    info = {k: record[k] for k in ("difficulty", "domain", "sub_domain") if k in record}
    return Sample(task=task.name, id=values["_id"], context=fill(values["context"].strip()), before=fill(head),
                  after=fill(tail), references=[values["answer"]], max_tokens=config()["v2_max_tokens"],
                  bin=record["length"], length=None, info=info)


def _v2_build(task: Task, n: int, length: int | None, seed: int, options: Options) -> list[Sample]:
    """As ``_v1_build``, from LongBench v2's file."""
    files, why = _v2_locate(options)
    if files is None:
        raise GlyphpressError(f"{task.name}: {why}")
    records = [r for f in files for r in read_records(f)]
    return [_v2_sample(task, records[i][1], records[i][0]) for i in choose(len(records), n, seed)]


def _v2_score(sample: Sample, prediction: str) -> float:
    return float(extract_choice(prediction) == sample.references[0])


# ---- registration --------------------------------------------------------------------------------------
def _register() -> None:
    for dataset in config()["dataset2prompt"]:
        register(Task(name=dataset, family="longbench", build=_v1_build, scorer=_v1_score,
                      missing=_v1_missing(dataset),
                      source=f"LongBench v1 {dataset}: data/{dataset}.jsonl of THUDM/LongBench's data.zip (local)"))
    for dataset in config()["longbench_e"]:
        name = f"{dataset}_e"
        register(Task(name=name, family="longbench-e", build=_v1_build, scorer=_v1_score, missing=_v1_missing(name),
                      source=f"LongBench-E {dataset}: data/{name}.jsonl of THUDM/LongBench's data.zip (local)"))
    register(Task(name=V2_TASK, family="longbench-v2", build=_v2_build, scorer=_v2_score, missing=_v2_missing,
                  source="LongBench v2: data.json of THUDM/LongBench-v2, 503 multiple-choice questions (local)"))


_register()
