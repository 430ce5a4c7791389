"""LongBench v1, LongBench-E and v2 tasks on small local files shaped like the real ones: the prompt pieces are
LongBench's templates (written out here literally), budgets, E bins, data layouts, messages, scoring."""

import json
import random
import re
import sys
import zipfile

import pytest

import glyphpress.bench.longbench as lb
from glyphpress.bench.task import Options, get, tasks
from glyphpress.errors import GlyphpressError

from .. import needs
from .files import jsonl

parquet = needs.package("pyarrow")
bench = needs.package("jieba", "rouge", "fuzzywuzzy")

ZIP_URL = "https://huggingface.co/datasets/THUDM/LongBench/resolve/main/data.zip"

NARRATIVEQA = {"input": "Who is Mark's brother?", "context": "Chapter I.\n\nMark Twain had a brother, Tom, who ...",
               "answers": ["Tom", "His brother Tom"], "length": 23115, "dataset": "narrativeqa", "language": "en",
               "all_classes": None, "_id": "c4d1b3a9e0f24f1b8f1e1c5b2a7d6e9f0a1b2c3d4e5f6a7b"}
TREC = {"input": "Question: What city is the Eiffel Tower in ?\nType:",
        "context": "Question: Who invented the telephone ?\nType: Individual\n"
                   "Question: What does NASA stand for ?\nType: Expression abbreviated",
        "answers": ["City"], "length": 1856, "dataset": "trec", "language": "en",
        "all_classes": ["Abbreviation", "Animal", "City", "Country", "Expression abbreviated", "Individual",
                        "Other location"],
        "_id": "5c3e1f0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c"}
DUREADER = {"input": "北京到上海的高铁要多久",
            "context": "文章1\n标题：京沪高铁时刻表\n京沪高铁全程1318公里，最快4小时18分钟。",
            "answers": ["最快4小时18分钟。"], "length": 9130, "dataset": "dureader", "language": "zh",
            "all_classes": None, "_id": "8e2f6a1c0b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d"}
V2 = {"_id": "66f36490821e116aacb2cc22", "domain": "Single-Document QA", "sub_domain": "Financial",
      "difficulty": "hard", "length": "short",
      "question": "According to the report, what drove revenue growth in 2023? ",
      "choice_A": "Lower prices", "choice_B": " New markets ", "choice_C": "Acquisitions", "choice_D": "Cost cuts",
      "answer": "B", "context": "\n  ACME Corp Annual Report 2023\nRevenue grew 12% on the back of new markets.  \n"}


@pytest.fixture(autouse=True)
def no_local_data(monkeypatch, tmp_path_factory):
    """No environment variable, and an empty hub cache: each test says where its data is."""
    monkeypatch.delenv("GLYPHPRESS_LONGBENCH", raising=False)
    monkeypatch.delenv("GLYPHPRESS_LONGBENCH_V2", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path_factory.mktemp("hub")))


def task(name):
    return get(name)


def test_every_longbench_task_is_registered_with_its_family():
    v1 = ["narrativeqa", "qasper", "multifieldqa_en", "multifieldqa_zh", "hotpotqa", "2wikimqa", "musique",
          "dureader", "gov_report", "qmsum", "multi_news", "vcsum", "trec", "triviaqa", "samsum", "lsht",
          "passage_count", "passage_retrieval_en", "passage_retrieval_zh", "lcc", "repobench-p"]
    e = ["qasper", "multifieldqa_en", "hotpotqa", "2wikimqa", "gov_report", "multi_news", "trec", "triviaqa",
         "samsum", "passage_count", "passage_retrieval_en", "lcc", "repobench-p"]
    assert [t.name for t in tasks() if t.family == "longbench"] == v1
    assert [t.name for t in tasks() if t.family == "longbench-e"] == [f"{d}_e" for d in e]
    assert [t.name for t in tasks() if t.family == "longbench-v2"] == ["longbench_v2"]
    assert not any(get(n).generated for n in v1)


def test_prompt_pieces_are_longbench_templates_split_at_context(tmp_path):
    jsonl(tmp_path / "data" / "narrativeqa.jsonl", [NARRATIVEQA])
    jsonl(tmp_path / "data" / "trec.jsonl", [TREC])
    jsonl(tmp_path / "data" / "dureader.jsonl", [DUREADER])
    opts = Options(data=tmp_path)

    [s] = task("narrativeqa").samples(0, options=opts)
    # LongBench's own text, its "asconcisely" included
    assert s.before == ("You are given a story, which can be either a novel or a movie script, and a question. Answer "
                        "the question asconcisely as you can, using a single phrase if possible. Do not provide any "
                        "explanation.\n\nStory: ")
    assert s.context == NARRATIVEQA["context"]
    assert s.after == ("\n\nNow, answer the question based on the story asconcisely as you can, using a single phrase "
                       "if possible. Do not provide any explanation.\n\nQuestion: Who is Mark's brother?\n\nAnswer:")
    assert (s.id, s.references, s.max_tokens, s.bin, s.length, s.extra) == (
        NARRATIVEQA["_id"], ["Tom", "His brother Tom"], 128, "all", 23115, {})

    [s] = task("trec").samples(0, options=opts)
    assert s.before == "Please determine the type of the question below. Here are some examples of questions.\n\n"
    assert s.after == "\nQuestion: What city is the Eiffel Tower in ?\nType:"
    assert (s.max_tokens, s.extra) == (64, {"all_classes": TREC["all_classes"]})

    [s] = task("dureader").samples(0, options=opts)
    assert s.before == "请基于给定的文章回答下述问题。\n\n文章："
    assert s.context == DUREADER["context"]
    assert s.after == "\n\n请基于上述文章回答下面的问题。\n\n问题：北京到上海的高铁要多久\n回答："
    assert s.prompt() == ("请基于给定的文章回答下述问题。\n\n文章：文章1\n标题：京沪高铁时刻表\n"
                          "京沪高铁全程1318公里，最快4小时18分钟。\n\n请基于上述文章回答下面的问题。\n\n"
                          "问题：北京到上海的高铁要多久\n回答：")


def test_code_templates_and_braces_in_rows(tmp_path):
    lcc = {"input": "", "context": "def f(x):\n    return {'a': x}\n", "answers": ["    pass"], "length": 600,
           "all_classes": None, "_id": "l1"}
    repo = {"input": "class A:\n    def {name}(self):\n", "context": "# path: a.py\nimport os\n",
            "answers": ["        return 1"], "length": 5000, "all_classes": None, "_id": "r1"}
    jsonl(tmp_path / "lcc.jsonl", [lcc])
    jsonl(tmp_path / "repobench-p_e.jsonl", [repo])
    [s] = task("lcc").samples(0, options=Options(data=tmp_path))
    assert (s.before, s.context, s.after) == ("Please complete the code given below. \n", lcc["context"],
                                              "Next line of code:\n")
    [s] = task("repobench-p_e").samples(0, options=Options(data=tmp_path))
    # a row's braces are text, never template fields
    assert s.after == "class A:\n    def {name}(self):\nNext line of code:\n"
    assert (s.max_tokens, s.bin) == (64, "4-8k")


def test_generation_budgets_are_dataset2maxlen(tmp_path):
    expected = {"narrativeqa": 128, "qasper": 128, "multifieldqa_en": 64, "multifieldqa_zh": 64, "hotpotqa": 32,
                "2wikimqa": 32, "musique": 32, "dureader": 128, "gov_report": 512, "qmsum": 512, "multi_news": 512,
                "vcsum": 512, "trec": 64, "triviaqa": 32, "samsum": 128, "lsht": 64, "passage_count": 32,
                "passage_retrieval_en": 32, "passage_retrieval_zh": 32, "lcc": 64, "repobench-p": 64}
    row = dict(NARRATIVEQA, input="Q?")
    for name in list(expected) + [f"{d}_e" for d in ("qasper", "gov_report", "trec", "lcc")]:
        jsonl(tmp_path / "data" / f"{name}.jsonl", [row])
    opts = Options(data=tmp_path)
    got = {name: task(name).samples(1, options=opts)[0].max_tokens for name in expected}
    assert got == expected
    assert [task(f"{d}_e").samples(1, options=opts)[0].max_tokens for d in ("qasper", "gov_report", "trec", "lcc")] \
        == [128, 512, 64, 64]


def test_longbench_e_bins_at_the_edges(tmp_path):
    rows = [dict(NARRATIVEQA, _id=f"q{n}", length=n) for n in (3999, 4000, 7999, 8000, 120)]
    jsonl(tmp_path / "qasper_e.jsonl", rows)
    samples = task("qasper_e").samples(None, options=Options(data=tmp_path))
    assert [(s.id, s.bin, s.length) for s in samples] == [
        ("q3999", "0-4k", 3999), ("q4000", "4-8k", 4000), ("q7999", "4-8k", 7999), ("q8000", "8k+", 8000),
        ("q120", "0-4k", 120)]


def test_n_and_seed_choose_rows(tmp_path):
    jsonl(tmp_path / "hotpotqa.jsonl", [dict(NARRATIVEQA, _id=f"h{i}") for i in range(10)])
    t, opts = task("hotpotqa"), Options(data=tmp_path)
    assert [s.id for s in t.samples(3, options=opts)] == ["h0", "h1", "h2"]
    assert len(t.samples(0, options=opts)) == len(t.samples(-1, options=opts)) == len(t.samples(50, options=opts)) == 10
    drawn = sorted(random.Random(7).sample(range(10), 4))
    assert [s.id for s in t.samples(4, seed=7, options=opts)] == [f"h{i}" for i in drawn]
    assert t.samples(4, seed=7, options=opts) == t.samples(4, seed=7, options=opts)


def test_missing_data_says_how_to_get_it(tmp_path):
    t = task("narrativeqa")
    assert t.missing(Options()) == (f"no LongBench data found: download {ZIP_URL}, unzip it and pass --data DIR "
                                    "(the unzipped folder) or set GLYPHPRESS_LONGBENCH=DIR")
    with pytest.raises(GlyphpressError, match=r"^narrativeqa: no LongBench data found: download https://"):
        t.samples(5)
    (tmp_path / "data").mkdir()
    assert t.missing(Options(data=tmp_path)) == (
        f"{tmp_path} has no narrativeqa.jsonl (nor data/narrativeqa.jsonl, narrativeqa/*.parquet or a data.zip "
        f"holding it): download {ZIP_URL}, unzip it and pass --data DIR (the unzipped folder) or set "
        "GLYPHPRESS_LONGBENCH=DIR")
    assert t.missing(Options(data=tmp_path / "nope")).startswith(f"{tmp_path / 'nope'} does not exist: download")
    jsonl(tmp_path / "data" / "narrativeqa.jsonl", [NARRATIVEQA])
    assert t.missing(Options(data=tmp_path)) is None
    assert task("longbench_v2").missing(Options()) == (
        "no LongBench v2 data found: download https://huggingface.co/datasets/THUDM/LongBench-v2/resolve/main/"
        "data.json and pass --data FILE (or the folder holding it) or set GLYPHPRESS_LONGBENCH_V2=FILE")


def test_malformed_rows_name_file_and_line(tmp_path):
    path = tmp_path / "narrativeqa.jsonl"
    path.write_text(json.dumps(NARRATIVEQA) + "\n" + '{"input": "x", "context": \n', encoding="utf-8")
    with pytest.raises(GlyphpressError, match=rf"^{re.escape(str(path))} line 2: not valid JSON"):
        task("narrativeqa").samples(0, options=Options(data=tmp_path))
    jsonl(path, [NARRATIVEQA, {k: v for k, v in NARRATIVEQA.items() if k != "answers"}])
    with pytest.raises(GlyphpressError, match=rf"^{re.escape(str(path))} line 2: field 'answers' is missing or not"):
        task("narrativeqa").samples(0, options=Options(data=tmp_path))
    jsonl(path, [NARRATIVEQA, dict(NARRATIVEQA, length="long")])
    with pytest.raises(GlyphpressError, match=rf"^{re.escape(str(path))} line 2: field 'length'"):
        task("narrativeqa").samples(0, options=Options(data=tmp_path))
    path.write_text(json.dumps(NARRATIVEQA) + "\n\n[1, 2]\n", encoding="utf-8")
    with pytest.raises(GlyphpressError, match=rf"^{re.escape(str(path))} line 3: not a JSON object"):
        task("narrativeqa").samples(0, options=Options(data=tmp_path))


def test_data_zip_environment_variable_and_hub_cache(tmp_path, monkeypatch):
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("data/trec.jsonl", json.dumps(TREC) + "\n")
        z.writestr("data/trec_e.jsonl", json.dumps(dict(TREC, length=4100)) + "\n")
    assert task("trec").samples(0, options=Options(data=archive))[0].id == TREC["_id"]
    assert task("trec_e").samples(0, options=Options(data=archive))[0].bin == "4-8k"
    assert task("lsht").missing(Options(data=archive)).startswith(f"{archive} has no lsht.jsonl")
    monkeypatch.setenv("GLYPHPRESS_LONGBENCH", str(tmp_path))  # a folder holding data.zip
    assert task("trec").samples(0)[0].references == ["City"]
    monkeypatch.delenv("GLYPHPRESS_LONGBENCH")
    # hf_hub_download("THUDM/LongBench", "data.zip", repo_type="dataset") leaves it in a snapshot folder
    snap = tmp_path / "hub" / "datasets--THUDM--LongBench" / "snapshots" / "0123abcd"
    snap.mkdir(parents=True)
    (snap / "data.zip").write_bytes(archive.read_bytes())
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert task("trec").missing(Options()) is None
    assert task("trec").samples(0)[0].context == TREC["context"]


def test_a_file_for_another_task_is_refused(tmp_path):
    path = jsonl(tmp_path / "narrativeqa.jsonl", [NARRATIVEQA])
    assert task("narrativeqa").missing(Options(data=path)) is None
    assert task("qasper").missing(Options(data=path)) == (
        f"{path} holds narrativeqa's rows, not qasper's: run only task narrativeqa with it, or pass the folder "
        "holding every task's file")
    mine = jsonl(tmp_path / "my_rows.jsonl", [NARRATIVEQA])
    assert task("qasper").samples(0, options=Options(data=mine))[0].before.startswith("You are given a scientific")


def test_scoring_through_the_task(tmp_path):
    jsonl(tmp_path / "trec.jsonl", [TREC])
    jsonl(tmp_path / "hotpotqa_e.jsonl", [dict(NARRATIVEQA, answers=["a cat sat down"], length=9000)])
    [s] = task("trec").samples(0, options=Options(data=tmp_path))
    assert task("trec").score(s, "City") == 1.0
    assert task("trec").score(s, "\nCountry\nCity") == 0.0  # only the first line counts
    [s] = task("hotpotqa_e").samples(0, options=Options(data=tmp_path))
    assert task("hotpotqa_e").score(s, "The cat sat.") == pytest.approx(0.8)  # precision 1, recall 2/3


@bench
def test_chinese_rouge_through_the_task(tmp_path):
    jsonl(tmp_path / "dureader.jsonl", [DUREADER])
    [s] = task("dureader").samples(0, options=Options(data=tmp_path))
    assert task("dureader").score(s, "最快4小时18分钟。") == pytest.approx(1.0)
    assert task("dureader").score(s, "不知道") == 0.0


def test_v2_sample_is_the_0shot_template(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps([V2, dict(V2, _id="x2", length="long", difficulty="easy")]), encoding="utf-8")
    [s, s2] = task("longbench_v2").samples(0, options=Options(data=tmp_path))
    assert s.before == "Please read the following text and answer the question below.\n\n<text>\n"
    assert s.context == "ACME Corp Annual Report 2023\nRevenue grew 12% on the back of new markets."
    assert s.after == ("\n</text>\n\nWhat is the correct answer to this question: According to the report, what "
                       "drove revenue growth in 2023?\nChoices:\n(A) Lower prices\n(B) New markets\n(C) Acquisitions\n"
                       "(D) Cost cuts\n\nFormat your response as follows: \"The correct answer is (insert answer "
                       "here)\".")
    assert (s.id, s.references, s.max_tokens, s.bin, s.length) == ("66f36490821e116aacb2cc22", ["B"], 128, "short",
                                                                   None)
    assert s.info == {"difficulty": "hard", "domain": "Single-Document QA", "sub_domain": "Financial"}
    assert (s2.bin, s2.info["difficulty"]) == ("long", "easy")
    assert task("longbench_v2").samples(0, options=Options(data=path))[0].id == V2["_id"]  # the file itself
    path.write_text(json.dumps([dict(V2, answer="E")]), encoding="utf-8")
    with pytest.raises(GlyphpressError, match=rf"^{re.escape(str(path))} item 1: field 'answer' is 'E', not a"):
        task("longbench_v2").samples(0, options=Options(data=path))


def test_v2_answer_extraction_and_score(tmp_path):
    assert lb.extract_choice("The correct answer is (B)") == "B"
    assert lb.extract_choice("**The correct answer is (C)**.") == "C"  # asterisks removed first
    assert lb.extract_choice("The correct answer is *(A)*") == "A"
    assert lb.extract_choice("Reasoning...\nThe correct answer is D, since") == "D"
    assert lb.extract_choice("The correct answer is (E)") is None
    assert lb.extract_choice("the correct answer is (A)") is None  # case matters, as in the reference
    assert lb.extract_choice("(A)") is None
    jsonl(tmp_path / "longbench_v2.jsonl", [V2])
    t = task("longbench_v2")
    [s] = t.samples(0, options=Options(data=tmp_path))
    assert t.score(s, "The correct answer is (B)") == 1.0
    assert t.score(s, "The correct answer is (A)") == 0.0
    assert t.score(s, "B") == 0.0


def test_without_pyarrow_parquet_is_a_clear_message(tmp_path, monkeypatch):
    folder = tmp_path / "narrativeqa"
    folder.mkdir()
    (folder / "test-00000-of-00001.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    why = "reading Parquet files needs pyarrow: pip install pyarrow"
    assert task("narrativeqa").missing(Options(data=tmp_path)) == why
    with pytest.raises(GlyphpressError, match=r"^narrativeqa: reading Parquet files needs pyarrow"):
        task("narrativeqa").samples(0, options=Options(data=tmp_path))


def write_parquet(path, rows, **kwargs):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path, **kwargs)
    return path


@parquet
def test_hub_parquet_layouts(tmp_path):
    rows = [dict(TREC, _id="t0"), dict(TREC, _id="t1")]
    write_parquet(tmp_path / "main" / "trec" / "test-00000-of-00001.parquet", rows)  # the hub's main branch
    write_parquet(tmp_path / "convert" / "trec_e" / "test" / "0000.parquet", [dict(TREC, length=8000)])
    write_parquet(tmp_path / "convert" / "trec_e" / "long_bench-test.parquet", [dict(TREC, length=10)])  # older
    samples = task("trec").samples(0, options=Options(data=tmp_path / "main"))
    assert [(s.id, s.extra) for s in samples] == [("t0", {"all_classes": TREC["all_classes"]}),
                                                  ("t1", {"all_classes": TREC["all_classes"]})]
    assert samples[0].after == "\nQuestion: What city is the Eiffel Tower in ?\nType:"
    [s] = task("trec_e").samples(0, options=Options(data=tmp_path / "convert"))
    assert s.bin == "8k+"
    # one Parquet file named for its dataset by its folder
    one = tmp_path / "main" / "trec" / "test-00000-of-00001.parquet"
    assert task("lsht").missing(Options(data=one)).startswith(f"{one} holds trec's rows, not lsht's")
    v2 = write_parquet(tmp_path / "v2" / "default" / "train" / "0000.parquet", [V2])
    assert task("longbench_v2").samples(0, options=Options(data=tmp_path / "v2"))[0].references == ["B"]
    bad = tmp_path / "bad" / "trec.parquet"
    bad.parent.mkdir()
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(GlyphpressError, match=rf"^{re.escape(str(bad))}: not a readable Parquet file"):
        task("trec").samples(0, options=Options(data=bad))
    assert v2.is_file()
