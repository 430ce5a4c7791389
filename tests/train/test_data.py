"""Training data: the style sampler, every builder's records (images open, prompts hold one placeholder per
page, answers are the pages' text, token counts match the accounting), both layouts, the card, rewards,
resuming a killed build, and Ray's build equal to the local one."""

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from PIL import Image

from glyphpress import count, load_config
from glyphpress.tokens.vision import vision_model
from glyphpress.train.build import Maker, Spec, build
from glyphpress.train.rewards import accuracy_reward, format_reward, ocr_reward
from glyphpress.train.styles import SIZES, Styles

from .. import needs

needs_data = needs.package("datasets", "pyarrow")
WORDS = ("Pages of text are read by a model that sees them as images. Each line carries words the model must "
         "recognise. A careful reader keeps the order of the words and the breaks between paragraphs. ")


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i in range(3):
        (folder / f"doc{i}.txt").write_text("\n\n".join(f"Document {i}, paragraph {j}. " + WORDS * 3
                                                        for j in range(40)))
    (folder / "rows.jsonl").write_text("\n".join(json.dumps({"text": f"Row {k}. " + WORDS * 20}) for k in range(3)))
    return folder


def test_styles_follow_the_paper_and_are_seeded():
    s = Styles()
    cfgs = [s.sample(i) for i in range(400)]
    assert [c.to_dict() for c in cfgs[:20]] == [Styles().sample(i).to_dict() for i in range(20)]
    assert all(c.font_size in SIZES and 0 <= c.line_height - c.font_size <= 3 for c in cfgs)
    assert all(0.75 <= c.horizontal_scale <= 1.0 for c in cfgs)
    assert sum(c.horizontal_scale >= 0.9 for c in cfgs) > 3 * sum(c.horizontal_scale < 0.85 for c in cfgs)
    assert all(10 <= c.margin_x <= 40 and 10 <= c.margin_y <= 40 for c in cfgs)
    dpis = Counter(int(c.dpi) for c in cfgs)
    assert sum(n for d, n in dpis.items() if 72 <= d <= 120) > 0.6 * len(cfgs) and min(dpis) < 60 and max(dpis) > 144
    aligns = Counter(c.alignment for c in cfgs)
    assert aligns["LEFT"] + aligns["JUSTIFY"] > 0.8 * len(cfgs) and aligns["RIGHT"] + aligns["CENTER"] > 0
    assert len({c.page_bg_color for c in cfgs}) >= 6 and len({c.font_family for c in cfgs}) >= 4
    assert 0.03 < sum(c.newline.color is not None for c in cfgs) / len(cfgs) < 0.2
    assert {Styles(cjk=True).sample(i).font_family for i in range(20)} == {"Noto Sans CJK"}


def _rows(folder):
    from datasets import load_dataset

    return list(load_dataset("parquet", data_files=str(folder / "parquet" / "*.parquet"), split="train"))


@needs_data
def test_pretraining_records_decode_and_match_the_accounting(tmp_path, corpus):
    spec = Spec("pretrain", [str(corpus)], samples=16, shard_size=6, seed=3)
    results = build(spec, tmp_path / "d")
    assert [r["shard"] for r in results] == ["pretrain-00000", "pretrain-00001", "pretrain-00002"]
    rows = _rows(tmp_path / "d")
    assert len(rows) == 16 and len({r["id"] for r in rows}) == 16
    assert set(Counter(r["task"] for r in rows)) == {"ocr", "interleaved", "next-page", "masked"}
    geometry = vision_model("qwen2.5-vl")
    for r in rows:
        meta, theta = json.loads(r["meta"]), json.loads(r["theta"])
        user = r["messages"][0]["content"]
        assert sum(p["type"] == "image" for p in user) == len(r["images"]) == meta["pages"] >= 1
        assert r["messages"][1] == {"role": "assistant", "content": [{"type": "text", "text": r["answer"]}]}
        assert r["answer"].strip()
        assert sum(geometry.tokens(*im.size) for im in r["images"]) == meta["vision_tokens"]  # the images' own cost
        if r["task"] == "ocr":  # the answer is the pages' text: counted, it gives the same pages
            again = count(r["answer"], load_config(None).from_dict(theta), model="qwen2.5-vl")
            assert len(again.pages) == len(r["images"])
        if r["task"] == "masked":
            assert "[MASK]" not in r["answer"] and len(r["answer"]) >= 40
    card = (tmp_path / "d" / "README.md").read_text()
    assert "16 records in 3 shards" in card and (tmp_path / "d" / "card" / "ocr.png").is_file()
    lines = [json.loads(x) for x in (tmp_path / "d" / "jsonl" / "pretrain-00000.jsonl").read_text().splitlines()]
    for line in lines:  # ms-swift / LLaMA-Factory: <image> placeholders, relative image paths
        assert line["messages"][0]["content"].count("<image>") == len(line["images"])
        assert all(Image.open(tmp_path / "d" / "jsonl" / p).size[0] > 0 for p in line["images"])
        assert line["messages"][1]["role"] == "assistant"


@needs_data
@needs.package("wonderwords")
def test_sft_and_rl_records_from_question_answer_samples(tmp_path, corpus):
    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(json.dumps({"context": f"Report {i}. " + WORDS * 10 + f" The code is {i * 7}.",
                                        "question": "What is the code?", "answer": str(i * 7)}) for i in range(12)))
    build(Spec("sft", source=str(qa), samples=12, ocr_rate=0.4, seed=1, config="glyph-en"), tmp_path / "sft")
    rows = _rows(tmp_path / "sft")
    tasks = Counter(r["task"] for r in rows)
    assert tasks["sft"] + tasks["ocr"] == 12 and tasks["ocr"] >= 2  # auxiliary OCR items mixed in
    for r in rows:
        assert json.loads(r["theta"]) == load_config("glyph-en").to_dict()  # the fixed θ
        if r["task"] == "sft":
            assert r["messages"][0]["content"][-1]["text"] == "What is the code?" and r["answer"] in r["references"]
    build(Spec("rl", corpus=[str(corpus / "doc0.txt")], source="bench:niah_single_2", samples=3, length="1k"),
          tmp_path / "rl")
    rows = _rows(tmp_path / "rl")
    assert len(rows) == 3 and all("prompt" in r and "messages" not in r for r in rows)
    assert all(r["metric"] == "niah_single_2" and r["references"] for r in rows)
    completions = [[{"role": "assistant", "content": f"<think>look</think><answer>{r['references'][0]}</answer>"}]
                   for r in rows]
    assert accuracy_reward([r["prompt"] for r in rows], completions, references=[r["references"] for r in rows],
                           metric=[r["metric"] for r in rows]) == [1.0, 1.0, 1.0]


def test_rewards():
    assert format_reward(None, ["<think>a</think><answer>b</answer>", "<answer>b</answer>", "plain answer",
                                "<think>a<answer>b</answer>", "<answer></answer>", "<answer>a</answer><answer>b"
                                "</answer>", ""]) == [1.0, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0]
    assert ocr_reward(None, ["the cat  sat", "the cat sat", "dog"], answer=["the cat sat"] * 3)[:2] == [1.0, 1.0]
    assert ocr_reward(None, ["the bat sat"], answer=["the cat sat"]) == [pytest.approx(1 - 1 / 11)]
    assert accuracy_reward(None, ["The answer is Paris."], references=[["Paris"]], metric=["hotpotqa"])[0] > 0.3
    assert accuracy_reward(None, ["<answer>Lyon</answer>"], references=[["Paris"]], metric=["hotpotqa"]) == [0.0]


@needs_data
def test_a_killed_build_resumes_without_redoing_finished_shards(tmp_path, corpus):
    args = [sys.executable, "-m", "glyphpress", "data", "build", "--kind", "pretrain", "--corpus", str(corpus),
            "--samples", "24", "--shard-size", "3", "--seed", "5", "--workers", "1"]
    whole = tmp_path / "whole"
    assert subprocess.run(args + ["-o", str(whole)], capture_output=True).returncode == 0
    cut = tmp_path / "cut"
    proc = subprocess.Popen(args + ["-o", str(cut)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((cut / "parquet").glob("*.parquet"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in (cut / "parquet").glob("*.parquet")}
    assert 3 <= len(finished) < 8
    p = subprocess.run(args + ["-o", str(cut)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stderr.count("already built") == len(finished)
    assert all((cut / "parquet" / n).stat().st_mtime_ns == t for n, t in finished.items())  # never redone
    assert _same(whole, cut)


def _same(a, b) -> bool:
    import pyarrow.parquet as pq

    names = sorted(p.name for p in (a / "parquet").glob("*.parquet"))
    assert names == sorted(p.name for p in (b / "parquet").glob("*.parquet"))
    for n in names:
        x, y = pq.read_table(a / "parquet" / n).to_pylist(), pq.read_table(b / "parquet" / n).to_pylist()
        if x != y:
            return False
    return True


@needs_data
@needs.package("ray")
def test_ray_builds_exactly_the_local_records(tmp_path, corpus):
    spec = Spec("pretrain", [str(corpus)], samples=8, shard_size=4, seed=9)
    build(spec, tmp_path / "local", workers=1)
    results = build(spec, tmp_path / "ray", ray_address="local")
    assert [r["records"] for r in results] == [4, 4]
    assert _same(tmp_path / "local", tmp_path / "ray")
    again = build(spec, tmp_path / "ray", ray_address="local")
    assert all(r["skipped"] for r in again)


def test_build_errors_are_one_line(tmp_path, corpus):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "glyphpress", "data", "build", *map(str, args)],
                              capture_output=True, text=True)

    for args, says in ((["--kind", "pretrain", "--corpus", corpus, "--tasks", "ocr=1,poetry=1"], "unknown: poetry"),
                       (["--kind", "pretrain"], "needs --corpus"), (["--kind", "sft"], "needs --source"),
                       (["--kind", "video", "--corpus", corpus], "--kind is"),
                       (["--kind", "pretrain", "--corpus", tmp_path / "nope"], "no such file"),
                       (["--kind", "sft", "--source", tmp_path / "none.jsonl"], "no such file"),
                       (["--corpus", corpus], "give --kind")):
        p = run(*args, "-o", tmp_path / "out")
        assert p.returncode == 2 and says in p.stderr and p.stderr.count("\n") == 1, (args, p.stderr)
    assert run("--kind", "pretrain", "--corpus", corpus, "--samples", 2, "-o", tmp_path / "o").returncode == 0
    p = run("--kind", "pretrain", "--corpus", corpus, "--samples", 3, "-o", tmp_path / "o")
    assert p.returncode == 2 and "another spec" in p.stderr


def test_a_maker_is_the_same_anywhere(corpus):
    spec = Spec("pretrain", [str(corpus)], samples=6, seed=2)
    a, b = Maker(spec), Maker(spec)
    for i in (5, 0, 3):  # any order, any process: record i is record i
        ra, rb = a.make(i), b.make(i)
        assert (ra.id, ra.task, ra.answer, ra.theta, ra.images) == (rb.id, rb.task, rb.answer, rb.theta, rb.images)
    assert Image.open(io.BytesIO(a.make(1).images[0])).size[0] > 0


@needs_data
def test_corpora_from_parquet_and_a_datasets_folder(tmp_path):
    from datasets import Dataset

    from glyphpress.errors import GlyphpressError
    from glyphpress.train.corpus import read_corpus

    rows = {"text": [f"Article {i}. " + WORDS * 5 for i in range(4)], "id": list(range(4))}
    Dataset.from_dict(rows).to_parquet(str(tmp_path / "a.parquet"))
    Dataset.from_dict({"content": rows["text"][:2]}).save_to_disk(str(tmp_path / "saved"))
    (tmp_path / "b.jsonl").write_text(json.dumps({"body": "Body text. " + WORDS * 3}) + "\n\n")
    docs = read_corpus([tmp_path / "a.parquet", tmp_path / "saved", tmp_path / "b.jsonl"])
    assert [d.name for d in docs] == ["a.parquet#1", "a.parquet#2", "a.parquet#3", "a.parquet#4",
                                      docs[4].name, docs[5].name, "b.jsonl#1"]
    assert docs[4].text.startswith("Article 0.") and docs[6].text.startswith("Body text.")
    Dataset.from_dict({"label": [1]}).to_parquet(str(tmp_path / "bad.parquet"))
    with pytest.raises(GlyphpressError, match="no text column"):
        read_corpus([tmp_path / "bad.parquet"])
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(GlyphpressError, match="line 1 is not JSON"):
        read_corpus([tmp_path / "bad.jsonl"])


def test_hostile_inputs_are_one_line_errors_and_short_or_crlf_texts_build(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "glyphpress", "data", "build", *map(str, args)],
                              capture_output=True, text=True)

    (tmp_path / "bad.jsonl").write_bytes(b'{"text": "\xff\xfe bad"}\n')
    (tmp_path / "rows.jsonl").write_text('["a list row"]\n')
    (tmp_path / "num.jsonl").write_text(json.dumps({"context": "c" * 300, "question": "q", "answer": [{"x": 1}]}))
    (tmp_path / "metric.jsonl").write_text(json.dumps({"context": "c" * 300, "question": "q", "answer": "a",
                                                       "metric": "no_such_metric"}))
    (tmp_path / "spec.json").write_text(json.dumps({"kind": "pretrain", "corpus": "good.txt", "samples": "100"}))
    (tmp_path / "file").write_text("x")
    (tmp_path / "t.txt").write_text(WORDS * 30)
    cases = [(["--kind", "pretrain", "--corpus", tmp_path / "bad.jsonl"], "not UTF-8"),
             (["--kind", "sft", "--source", tmp_path / "rows.jsonl"], "line 1 needs a context"),
             (["--kind", "sft", "--source", tmp_path / "num.jsonl"], "line 1 needs a context"),
             (["--kind", "sft", "--source", tmp_path / "metric.jsonl"], "no_such_metric"),
             (["--spec", tmp_path / "nope.json"], "cannot read the spec"),
             (["--spec", tmp_path / "spec.json"], "spec field corpus"),
             (["--kind", "pretrain", "--corpus", tmp_path / "file", "--tasks", "ocr=nan"], "finite"),
             (["--kind", "pretrain", "--corpus", tmp_path / "t.txt", "--font", tmp_path / "none.ttf"], "none.ttf")]
    for args, says in cases:
        p = run(*args, "-o", tmp_path / "out")
        assert p.returncode == 2 and says in p.stderr and p.stderr.count("\n") == 1, (args, p.stderr)
    assert not (tmp_path / "out").exists()  # nothing written by a build that could not start
    p = run("--kind", "pretrain", "--corpus", tmp_path / "t.txt", "--samples", 1, "-o", tmp_path / "file")
    assert p.returncode == 2 and "not a folder" in p.stderr


@needs_data
def test_short_documents_and_windows_line_ends(tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("A short note of a few words. " * 9)  # 261 characters: too short for text, pages and more
    build(Spec("pretrain", [str(short)], samples=3, tasks={"interleaved": 1.0}), tmp_path / "s")
    assert {r["task"] for r in _rows(tmp_path / "s")} == {"ocr"}  # it gave way to a transcription
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes("\r\n".join(f"Line {i} of a Windows text file, with some words in it to fill the page up."
                                 for i in range(600)).encode())
    build(Spec("pretrain", [str(crlf)], samples=4, tasks={"ocr": 1.0}, seed=4), tmp_path / "c")
    for r in _rows(tmp_path / "c"):
        theta = json.loads(r["theta"])
        assert "\r" not in r["answer"]
        again = count(r["answer"], load_config(None).from_dict(theta), model="qwen2.5-vl")
        assert len(again.pages) == len(r["images"])  # the answer is what the pages show, no line more or less
        assert r["answer"].rstrip().endswith(tuple(f"page up.{x}" for x in ("", "\n")) + ("page up",)) or \
            r["answer"].split()[-1].isalpha()


@needs_data
@needs.package("wonderwords")
def test_rewards_score_tasks_whose_metric_needs_keywords(tmp_path):
    from glyphpress.bench.task import Sample
    from glyphpress.train.tasks import qa

    sample = Sample("trec", "1", "Question: What is the capital? Type: Location", "", "Type?", ["Location"],
                    extra={"all_classes": ["Location", "Person"]})
    record = qa(sample, load_config("glyph-en"), "rl-1", "qwen2.5-vl", kind="rl")
    from glyphpress.train import shards

    shards.write(tmp_path, "rl-00000", [record], rl=True)
    [row] = _rows(tmp_path)
    assert json.loads(row["extra"]) == {"all_classes": ["Location", "Person"]}
    assert accuracy_reward(None, ["<answer>Location</answer>"], references=[row["references"]],
                           metric=[row["metric"]], extra=[row["extra"]]) == [1.0]


def test_without_the_train_extra_a_build_says_what_to_install(tmp_path, corpus, monkeypatch):
    from glyphpress.errors import GlyphpressError

    monkeypatch.setitem(sys.modules, "datasets", None)  # as on a core install
    with pytest.raises(GlyphpressError, match=r"pip install 'glyphpress\[train\]'"):
        build(Spec("pretrain", [str(corpus)], samples=1), tmp_path / "d")
    assert not (tmp_path / "d").exists()
