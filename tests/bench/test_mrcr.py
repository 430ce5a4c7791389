"""MRCR tasks on small local files shaped like openai/mrcr's rows: the rendered turns, the request kept as text,
bins, ids, layouts, messages and the prefix rule through the task."""

import json
import re
import sys

import pytest

import glyphpress.bench.mrcr as mrcr
from glyphpress.bench.task import Options, get, tasks
from glyphpress.errors import GlyphpressError
from glyphpress.tokens.text import count_tokens, text_tokenizer

from .. import needs
from .files import jsonl

parquet = needs.package("pyarrow")

EXAMPLES = ("Here are some examples of conversations succeeded by a follow-up question answered correctly:\n\n"
            "======EXAMPLE======\nUser: write a poem about cats\nAssistant: Soft paws at dawn,\nA purr in the hall.\n"
            "User: Prepend 9fKx2 to the 1st (1 indexed) poem about cats. Do not include any other text in your "
            "response.\nAssistant: 9fKx2Soft paws at dawn,\nA purr in the hall.\n======END EXAMPLE======\n")
REQUEST = ("Prepend aYooSG8CQg to the 2nd (1 indexed) poem about tapirs. Do not include any other text in your "
           "response.")
MESSAGES = [
    {"role": "user", "content": EXAMPLES},
    {"role": "user", "content": "write a poem about tapirs"},
    {"role": "assistant", "content": "In the forest deep,\nthe tapir wanders slow."},
    {"role": "user", "content": "write a blog post about rocks"},
    {"role": "assistant", "content": "**Rocks: The Quiet Record Keepers**\n\nEvery stone has a story."},
    {"role": "user", "content": "write a poem about tapirs"},
    {"role": "assistant", "content": "Snout to the river,\na tapir drinks at dusk."},
    {"role": "user", "content": REQUEST},
]


def row(needles=2, **changes):
    out = {"prompt": json.dumps(MESSAGES), "answer": "aYooSG8CQgSnout to the river,\na tapir drinks at dusk.",
           "random_string_to_prepend": "aYooSG8CQg", "n_needles": needles, "desired_msg_index": 6,
           "total_messages": 8, "n_chars": sum(len(m["content"]) for m in MESSAGES)}
    out.update(changes)
    return out


@pytest.fixture(autouse=True)
def no_local_data(monkeypatch, tmp_path_factory):
    monkeypatch.delenv("GLYPHPRESS_MRCR", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path_factory.mktemp("hub")))


def task(name):
    return get(name)


def test_the_three_tasks():
    assert [(t.name, t.family) for t in tasks() if t.name.startswith("mrcr")] == [
        ("mrcr_2", "mrcr"), ("mrcr_4", "mrcr"), ("mrcr_8", "mrcr")]


def test_turns_rendered_as_lines_and_the_request_kept_as_text(tmp_path):
    path = jsonl(tmp_path / "mrcr.jsonl", [row()])
    [s] = task("mrcr_2").samples(0, options=Options(data=path))
    assert s.context == (
        "User: Here are some examples of conversations succeeded by a follow-up question answered correctly:\n\n"
        "======EXAMPLE======\nUser: write a poem about cats\nAssistant: Soft paws at dawn,\nA purr in the hall.\n"
        "User: Prepend 9fKx2 to the 1st (1 indexed) poem about cats. Do not include any other text in your "
        "response.\nAssistant: 9fKx2Soft paws at dawn,\nA purr in the hall.\n======END EXAMPLE======\n\n"
        "User: write a poem about tapirs\n"
        "Assistant: In the forest deep,\nthe tapir wanders slow.\n"
        "User: write a blog post about rocks\n"
        "Assistant: **Rocks: The Quiet Record Keepers**\n\nEvery stone has a story.\n"
        "User: write a poem about tapirs\n"
        "Assistant: Snout to the river,\na tapir drinks at dusk.")
    assert "aYooSG8CQg" not in s.context
    assert s.before == ""
    assert s.after == "\nPrepend aYooSG8CQg to the 2nd (1 indexed) poem about tapirs. Do not include any other text " \
                      "in your response."
    assert s.references == ["aYooSG8CQgSnout to the river,\na tapir drinks at dusk."]
    assert s.extra == {"random_string_to_prepend": "aYooSG8CQg"}
    assert (s.id, s.max_tokens) == ("mrcr-0", 8192)
    assert s.info == {"desired_msg_index": 6, "total_messages": 8, "n_chars": row()["n_chars"]}
    tok = text_tokenizer(None)  # every message's content counted, as MRCR's n_tokens does
    assert s.length == sum(count_tokens(tok, m["content"]) for m in MESSAGES)
    assert s.bin == "<4K"


def test_bins_are_mrcrs():
    assert [mrcr.token_bin(n) for n in (4095, 4096, 8192, 8193, 16384, 131072, 131073, 524288, 524289, 1048576,
                                        1048577)] == [
        "<4K", "4K-8K", "4K-8K", "8K-16K", "8K-16K", "64K-128K", "128K-256K", "256K-512K", "512K-1M", "512K-1M",
        ">1M"]


def test_prefix_rule_scored_through_the_task(tmp_path):
    path = jsonl(tmp_path / "mrcr.jsonl", [row()])
    t = task("mrcr_2")
    [s] = t.samples(0, options=Options(data=path))
    assert t.score(s, "aYooSG8CQgSnout to the river,\na tapir drinks at dusk.") == 1.0
    assert t.score(s, "Snout to the river,\na tapir drinks at dusk.") == 0.0  # no prefix, no score
    assert t.score(s, " aYooSG8CQgSnout to the river,\na tapir drinks at dusk.") == 0.0  # not at the very start
    # "Snout to the river" (18) against the 43 characters of the answer: all 18 match, 2 * 18 / 61
    assert t.score(s, "aYooSG8CQgSnout to the river") == pytest.approx(36 / 61)


def test_rows_are_kept_by_needle_count_and_chosen_by_n_and_seed(tmp_path):
    rows = [row(2, desired_msg_index=10 + i) if i % 2 == 0 else row(4) for i in range(10)]
    path = jsonl(tmp_path / "mixed.jsonl", rows)
    opts = Options(data=path)
    assert [s.id for s in task("mrcr_2").samples(0, options=opts)] == ["mixed-0", "mixed-2", "mixed-4", "mixed-6",
                                                                        "mixed-8"]
    assert [s.id for s in task("mrcr_4").samples(2, options=opts)] == ["mixed-1", "mixed-3"]
    import random

    drawn = sorted(random.Random(3).sample(range(5), 2))
    assert [s.info["desired_msg_index"] for s in task("mrcr_2").samples(2, seed=3, options=opts)] == \
        [10 + 2 * i for i in drawn]
    with pytest.raises(GlyphpressError, match=r"^no 8-needle rows in .*mixed\.jsonl: is this openai/mrcr data\?"):
        task("mrcr_8").samples(0, options=opts)


def test_missing_data_says_how_to_get_it(tmp_path):
    get = ("download the 2needle/ Parquet files of https://huggingface.co/datasets/openai/mrcr (hf download "
           "openai/mrcr --repo-type dataset --local-dir DIR) and pass --data DIR or set GLYPHPRESS_MRCR=DIR")
    assert task("mrcr_2").missing(Options()) == f"no MRCR data found: {get}"
    with pytest.raises(GlyphpressError, match=r"^mrcr_4: no MRCR data found: download the 4needle/"):
        task("mrcr_4").samples(1)
    assert task("mrcr_2").missing(Options(data=tmp_path)) == (
        f"{tmp_path} has no 2needle/*.parquet (nor other MRCR Parquet or JSONL files): {get}")
    assert task("mrcr_2").missing(Options(data=tmp_path / "x")) == f"{tmp_path / 'x'} does not exist: {get}"
    jsonl(tmp_path / "4needle_0.jsonl", [row(4)])  # named for another needle count
    assert task("mrcr_2").missing(Options(data=tmp_path)).startswith(f"{tmp_path} has no 2needle/*.parquet")
    assert task("mrcr_4").missing(Options(data=tmp_path)) is None


def test_malformed_rows_name_file_and_line(tmp_path):
    path = jsonl(tmp_path / "mrcr.jsonl", [row(), row(prompt="[{\"role\": \"user\", ")])
    with pytest.raises(GlyphpressError, match=rf"^{re.escape(str(path))} line 2: field 'prompt' is not JSON"):
        task("mrcr_2").samples(0, options=Options(data=path))
    jsonl(path, [row(prompt=json.dumps(MESSAGES[:-1]))])
    with pytest.raises(GlyphpressError, match=r"line 1: the conversation does not end with the user's request"):
        task("mrcr_2").samples(0, options=Options(data=path))
    jsonl(path, [row(prompt=json.dumps([{"role": "user", "text": "hi"}, MESSAGES[-1]]))])
    with pytest.raises(GlyphpressError, match=r"line 1: field 'prompt' is not a list of chat messages"):
        task("mrcr_2").samples(0, options=Options(data=path))
    path.write_text(json.dumps(row()) + "\nnot json\n", encoding="utf-8")
    with pytest.raises(GlyphpressError, match=rf"^{re.escape(str(path))} line 2: not valid JSON"):
        task("mrcr_2").samples(0, options=Options(data=path))


def test_without_pyarrow_parquet_is_a_clear_message(tmp_path, monkeypatch):
    (tmp_path / "2needle").mkdir()
    (tmp_path / "2needle" / "2needle_0.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    assert task("mrcr_2").missing(Options(data=tmp_path)) == "reading Parquet files needs pyarrow: pip install pyarrow"


def write_parquet(path, rows, **kwargs):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path, **kwargs)
    return path


@parquet
def test_hub_layout_reads_only_chosen_rows(tmp_path, monkeypatch):
    rows0 = [row(2, desired_msg_index=i) for i in range(5)]
    write_parquet(tmp_path / "2needle" / "2needle_0.parquet", rows0, row_group_size=2)
    write_parquet(tmp_path / "2needle" / "2needle_1.parquet", [row(2, desired_msg_index=100)])
    write_parquet(tmp_path / "4needle" / "4needle_0.parquet", [row(4, desired_msg_index=40)])
    monkeypatch.setenv("GLYPHPRESS_MRCR", str(tmp_path))
    samples = task("mrcr_2").samples(0)
    assert [(s.id, s.info["desired_msg_index"]) for s in samples] == [
        ("2needle_0-0", 0), ("2needle_0-1", 1), ("2needle_0-2", 2), ("2needle_0-3", 3), ("2needle_0-4", 4),
        ("2needle_1-0", 100)]
    assert samples[0].after == "\n" + REQUEST
    [s] = task("mrcr_4").samples(0)
    assert s.id == "4needle_0-0"

    import random

    drawn = sorted(random.Random(5).sample(range(6), 3))
    assert [s.id for s in task("mrcr_2").samples(3, seed=5)] == [
        f"2needle_0-{i}" if i < 5 else "2needle_1-0" for i in drawn]

    # the hub cache after hf_hub_download / snapshot_download
    monkeypatch.delenv("GLYPHPRESS_MRCR")
    snap = tmp_path / "hub" / "datasets--openai--mrcr" / "snapshots" / "f4c69fae"
    write_parquet(snap / "8needle" / "8needle_1.parquet", [row(8)])
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    [s] = task("mrcr_8").samples(0)
    assert (s.id, s.references) == ("8needle_1-0", [row()["answer"]])
    # the earlier layout, one file per needle count, with every row's needle count checked
    write_parquet(tmp_path / "old" / "2needle.parquet", [row(2), row(4)])
    assert [s.id for s in task("mrcr_2").samples(0, options=Options(data=tmp_path / "old"))] == ["2needle-0"]
