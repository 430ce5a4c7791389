"""The genetic search: end to end from the command line, its outputs, resuming from the Optuna journal after
kill -9, and a tiny search with the OCR fitness."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from glyphpress import count, load_config
from glyphpress.search import Evaluation, Legibility, Param, Space, load_space
from glyphpress.search.run import Candidate, Search, Settings

from .. import needs

needs_optuna = needs.package("optuna")
TEXT = " ".join(f"Paragraph {i}: a short essay line about pages, tokens and the eyes that read them."
                for i in range(300))


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "glyphpress", "search", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


@needs_optuna
def test_search_from_the_command_line_writes_a_loadable_best_and_resumes(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    out = tmp_path / "run"
    args = ["--corpus", corpus, "-o", out, "--fitness", "compression", "--generations", 3, "--population", 5]
    p = cli(*args)
    assert p.returncode == 0, p.stderr
    assert "generation 3/3" in p.stderr and "Pareto 0" in p.stderr and "evaluations/min" in p.stderr
    assert "best θ" in p.stdout and "x the base's ρ" in p.stdout
    assert (out / "report.html").is_file() and "## The best θ" in (out / "report.md").read_text()
    assert json.loads((out / "run.json").read_text())["settings"]["floor"] is None  # compression: no quality
    best = load_config(str(out / "best.json"))  # loads as a config
    lines = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    ran = [line for line in lines if not line["cached"]]
    assert len({line["key"] for line in ran}) == len(ran) >= 5  # no candidate evaluated twice
    for g in (1, 2):  # elitism: the two best of a generation go on to the next
        before = sorted((line for line in lines if line["generation"] == g - 1), key=lambda x: -x["score"])
        elites = {line["key"] for line in lines if line["generation"] == g and line["origin"] == "elite"}
        assert elites == {line["key"] for line in before[:2]}
    assert max(line["score"] for line in lines) == pytest.approx(max(line["rho"] for line in lines))
    for g in (1, 2):  # no generation holds a θ an earlier one held, but its elite
        earlier = {line["key"] for line in lines if 0 <= line["generation"] < g}
        assert not earlier & {line["key"] for line in lines if line["generation"] == g and line["origin"] != "elite"}
    assert best.dpi in (45, 50, 60, 66, 72, 80, 96, 100, 110, 120)
    again = cli(*args)
    assert again.returncode == 2 and "--resume" in again.stderr and again.stderr.count("\n") == 1
    resumed = cli(*args, "--resume")
    assert resumed.returncode == 0 and "0 evaluations run" in resumed.stdout  # everything from the journal
    bad = cli("--corpus", tmp_path / "nope.txt", "-o", tmp_path / "x", "--fitness", "compression")
    assert bad.returncode == 2 and "no such file" in bad.stderr
    bad = cli("--corpus", corpus, "-o", tmp_path / "y", "--model", "no-such-vlm")
    assert bad.returncode == 2 and "unknown vision model" in bad.stderr and not (tmp_path / "y").exists()


@needs_optuna
def test_a_search_killed_with_kill_9_resumes_to_the_same_candidates(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT * 3)
    args = ["--corpus", corpus, "--fitness", "compression", "--generations", 4, "--population", 6, "--seed", 7]
    whole = tmp_path / "whole"
    assert cli(*args, "-o", whole).returncode == 0
    cut = tmp_path / "cut"
    proc = subprocess.Popen([sys.executable, "-m", "glyphpress", "search", *map(str, args), "-o", str(cut)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:  # killed once some evaluations are in the journal, before the end
        if (cut / "history.jsonl").exists() and len((cut / "history.jsonl").read_text().splitlines()) >= 8:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = sum(not json.loads(line)["cached"] for line in (cut / "history.jsonl").read_text().splitlines())
    assert 6 <= done_before < len((whole / "history.jsonl").read_text().splitlines())
    p = cli(*args, "-o", cut, "--resume")
    assert p.returncode == 0, p.stderr
    keys = {json.loads(line)["key"] for line in (whole / "history.jsonl").read_text().splitlines()}
    resumed = {json.loads(line)["key"] for line in (cut / "history.jsonl").read_text().splitlines()}
    assert resumed == keys  # the same candidates, seeded: nothing lost but what was in flight
    ran = int(re.search(r"(\d+) evaluations run", p.stdout).group(1))
    assert ran <= len(keys) - done_before + 1  # only the rest (and at most the one in flight) ran again
    assert (whole / "best.json").read_text() == (cut / "best.json").read_text()


@needs_optuna
@needs.package("rapidocr")
def test_a_tiny_search_with_the_ocr_fitness(tmp_path):
    space = Space({"dpi": Param("choice", options=(40, 72, 96)), "page-size": Param("fixed", value="260,120"),
                   "font-size": Param("float", low=7, high=10, step=1),
                   "line-height": Param("float", low=7, high=13, step=1)}, base="glyph-en")
    seen = []
    search = Search(space, Legibility(TEXT[:2500], "qwen2.5-vl", pages=2), "ocr-test", tmp_path,
                    Settings(population=3, generations=2, seed=3, floor=0.95),
                    progress=lambda g, everyone: seen.append((g, len(everyone))))
    found = search.run()
    assert [g for g, _ in seen] == [0, 1] and len(found) >= 3
    assert search.evaluated == len({c.key for c in found} | {c.key for c in search.reference})
    best = found[0]
    assert best.evaluation.quality >= 0.95 or all(c.evaluation.quality < 0.95 for c in found)
    assert all(space.problems(c.theta) == [] for c in found)
    front = list((tmp_path / "pareto").glob("*.json"))
    assert front and all(load_config(str(f)).page_size == (260.0, 120.0) for f in front)
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)


def loopback(replies):
    """An OpenAI-compatible chat server on loopback answering each request with the next of ``replies``
    (a string: the message's content; an int: that HTTP status), recording the prompts."""
    import http.server
    import threading

    prompts = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            prompts.append(body["messages"][-1]["content"])
            reply = replies[min(len(prompts) - 1, len(replies) - 1)]
            if isinstance(reply, int):
                self.send_response(reply)
                self.end_headers()
                return
            data = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, prompts


@needs_optuna
def test_llm_proposals_join_the_population_and_bad_replies_never_stop_the_search(tmp_path):
    from glyphpress.search import Compression, load_space
    from glyphpress.search.proposer import Proposer

    good = ('Here is my analysis.\n```json\n{"analysis": "lower dpi raises rho", "candidates": '
            '[{"dpi": 45, "font-size": 7.0, "line-height": 8.0}, {"dpi": 50, "alignment": "JUSTIFY"}, '
            '{"dpi": 9999, "font-size": "big"}, "not an object"]}\n```')
    server, prompts = loopback([good, "I would try a smaller font, but I cannot say JSON.", 500])
    try:
        space = load_space("en")
        search = Search(space, Compression(TEXT, "qwen2.5-vl"), "compression", tmp_path,
                        Settings(population=6, generations=4, seed=2),
                        proposer=Proposer(f"http://127.0.0.1:{server.server_address[1]}/v1", count=4))
        found = search.run()
    finally:
        server.shutdown()
    assert len(prompts) == 3 and '"dpi"' in prompts[0] and "rho" in prompts[0]  # the space and the history
    log = [json.loads(line) for line in (tmp_path / "llm.jsonl").read_text().splitlines()]
    assert [entry["error"] is None for entry in log] == [True, False, False]
    assert log[0]["analysis"] == "lower dpi raises rho" and len(log[0]["candidates"]) == 3
    assert all(space.problems(t) == [] for t in log[0]["candidates"])  # out-of-range values repaired
    assert log[0]["candidates"][0]["dpi"] == 45 and log[0]["candidates"][2]["dpi"] in space.params["dpi"].options
    history = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    llm = [h for h in history if h["origin"] == "llm"]
    assert {h["generation"] for h in llm} == {1} and len(llm) >= 2
    assert {h["generation"] for h in history} == {-1, 0, 1, 2, 3} and found[0].score >= max(h["score"] for h in llm)


class Sharpness:
    """A quick stand-in for OCR with a known answer: quality falls as the font's pixels shrink; ρ counted."""

    name = "sharpness"
    rated = True

    def __init__(self):
        self.evaluated = []

    def rho(self, cfg):
        return count(TEXT, cfg, model="qwen2.5-vl").ratio

    def __call__(self, cfg):
        self.evaluated.append(cfg)
        r = count(TEXT, cfg, model="qwen2.5-vl")
        px = cfg.px(cfg.font_size) * cfg.horizontal_scale
        return Evaluation(r.ratio, min(1.0, px / 9.0), len(r.pages), r.text_tokens, r.vision_tokens)


@needs_optuna
@pytest.mark.parametrize("screen", [True, False])
def test_the_floor_at_the_base_and_children_screened_by_rho(tmp_path, screen):
    space = Space({"dpi": Param("choice", options=(60, 72, 96)), "font-size": Param("float", low=7, high=12, step=1),
                   "horizontal-scale": Param("float", low=0.7, high=1.0, step=0.05)}, base="glyph-en")
    fit = Sharpness()
    search = Search(space, fit, "sharpness", tmp_path, Settings(population=6, generations=4, seed=5, floor="base",
                                                                screen=screen),
                    references={"narrow": {"horizontal-scale": 0.75}})
    found = search.run()
    base = next(c for c in search.reference if c.label == "base")
    assert search.floor == base.evaluation.quality == 1.0  # glyph-en: 9 pt at 72 dpi
    assert all(c.score == (c.evaluation.rho if c.evaluation.quality >= 1.0 else c.evaluation.quality - 1)
               for c in found)
    assert found[0].evaluation.quality >= 1.0 and found[0].evaluation.rho >= base.evaluation.rho
    assert "narrow" not in {c.label for c in found}  # references are never candidates
    history = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    said = {h["label"]: h for h in history if h["origin"] == "reference"}  # the last word on each reference
    assert list(said) == ["base", "narrow"]
    for c in search.reference:  # scored under the floor in the history too (the narrow one is below it)
        assert said[c.label]["score"] == c.score
    assert said["narrow"]["score"] < 0
    assert [h["origin"] for h in history if h["generation"] == 0][0] == "base"
    gens = [json.loads(line) for line in (tmp_path / "generations.jsonl").read_text().splitlines()]
    evaluated = {space.config(h["theta"]).to_dict().__repr__() for h in history if not h["cached"]}
    assert len(fit.evaluated) == len(evaluated)  # each θ read once
    hopeless = 0
    for g in range(1, 4):  # a child evaluated could beat the elite of the generation before, or filled it up
        before = sorted((h for h in history if h["generation"] == g - 1), key=lambda h: -h["score"])
        bar = before[0]["score"]  # the best so far; a child's best possible score is its ρ
        children = [h for h in history if h["generation"] == g and h["origin"] == "child"]
        assert len([h for h in history if h["generation"] == g]) == 6
        low = sum(h["rho"] <= bar for h in children)
        assert low == (gens[g + 1]["refilled"] if screen else low)
        hopeless += low
    screened = sum(g["screened"] for g in gens)
    assert (screened > 0) == screen and (hopeless > 0) != screen


@needs_optuna
@pytest.mark.parametrize("screen", [True, False])
def test_a_step_that_paid_off_is_taken_again(tmp_path, screen):
    space = Space({"dpi": Param("choice", options=(50, 60, 66, 72, 96)),
                   "horizontal-scale": Param("float", low=0.7, high=1.0, step=0.01),
                   "font-size": Param("float", low=7, high=12, step=0.5)}, base="glyph-en")
    search = Search(space, Sharpness(), "sharpness", tmp_path, Settings(population=8, elite=1, seed=1, screen=screen))
    base = {"dpi": 72, "horizontal-scale": 1.0, "font-size": 9.0}

    def evaluated(theta, origin, gain=None, **kw):  # scored at its ρ; ``gain``: over the θ its step left
        c = Candidate(base | theta, origin, 0, **kw)
        c.score = search.rho(c)
        c.evaluation = Evaluation(c.score, 1.0, 1, 1, 1)
        c.before = None if gain is None else c.score - gain
        search.record(c)
        return c

    ranked = sorted([
        evaluated({}, "base"),
        evaluated({"horizontal-scale": 0.9}, "child", 0.1, step={"horizontal-scale": (0.95, 0.9)}),
        evaluated({"dpi": 66}, "stride", 0.1, step={"dpi": (72, 66)}, strides=1),  # a stride that paid off
        evaluated({"font-size": 8.0}, "child", -0.1, step={"font-size": (8.5, 8.0)}),  # did not pay
        evaluated({"horizontal-scale": 0.99}, "child", 0.1, step={"font-size": (9.5, 9.0)}),  # leads to a θ held
        evaluated({"horizontal-scale": 0.97}, "mutant"),  # no parent measured
    ], key=lambda c: -c.score)
    evaluated({"horizontal-scale": 0.99, "font-size": 8.5}, "child")  # the θ an earlier generation held
    assert ranked[0].theta["dpi"] == 66  # the best so far: its ρ is the bar
    made = search.next(ranked, 1)
    strides = [({k: v for k, v in c.theta.items() if base[k] != v}, c.step, c.strides)
               for c in made if c.origin == "stride"]
    narrower = ({"horizontal-scale": 0.85}, {"horizontal-scale": (0.9, 0.85)}, 1)
    lower = ({"dpi": 50}, {"dpi": (66, 50)}, 2)  # twice as far after a stride
    # screened by ρ: the narrower scale is not as dense as 66 dpi
    assert strides == ([lower] if screen else [lower, narrower])  # best first
    paid = {c.origin: c.score for c in ranked if c.theta["dpi"] == 66 or c.theta["horizontal-scale"] == 0.9}
    assert [c.before for c in made if c.origin == "stride"] == [paid["stride"], paid["child"]][:len(strides)]
    assert [c.origin for c in made[:1 + len(strides)]] == ["elite"] + ["stride"] * len(strides) and len(made) == 8
    held = {c.key for c in ranked} | {Candidate(base | {"horizontal-scale": 0.99, "font-size": 8.5}, "", 0).key}
    assert not {c.key for c in made[1:]} & held  # nothing an earlier generation held, but the elite
    children = [c for c in made if c.origin == "child"]
    assert children and all(c.step and c.before is not None for c in children)
    for c in children:
        assert all(c.theta[k] == new for k, (_, new) in c.step.items())
    offers = iter([Candidate(c.theta, "child", 2) for c in ranked[:3]] + [
        Candidate(base | {"font-size": 7.0 + k / 2}, "child", 2) for k in range(20)])
    filled = search.fill([], lambda: next(offers), None, 2)
    assert [c.theta["font-size"] for c in filled] == [7.0, 7.5, 8.5, 9.5, 10.0, 10.5, 11.0, 11.5]  # none held before


class Slow:
    """A fitness that takes a known time: ρ from the θ's dpi and font size, each evaluation 0.3 s."""

    name = "slow"
    rated = False

    def __call__(self, cfg):
        time.sleep(0.3)
        return Evaluation(1000 / (cfg.dpi * cfg.font_size), None, 1, 1, 1)


@needs_optuna
def test_the_time_limit_counts_whole_generations(tmp_path):
    # each generation: 4 evaluations (0.3 s each) and its report (1 s, after_generation): 2.2 s. A limit of 6 s
    # has room for two; a third would end at 6.6 s. Judged by the evaluations alone (1.2 s), it would start.
    search = Search(load_space("en"), Slow(), "slow", tmp_path, Settings(population=5, elite=1, generations=9,
                                                                         minutes=0.1, seed=4),
                    after_generation=lambda s: time.sleep(1.0))
    start = time.perf_counter()
    search.run()
    gens = [json.loads(line) for line in (tmp_path / "generations.jsonl").read_text().splitlines()]
    assert [g["generation"] for g in gens] == [-1, 0, 1] and [g["evaluated"] for g in gens] == [1, 4, 4]
    assert time.perf_counter() - start - gens[0]["wall_s"] < 6.0  # the references are not counted
    assert search.stopped == "time limit: generation 3 would end after 0.1 minutes"


class StopsEarly(Sharpness):
    """Sharpness that takes the quality floor, as OCR does, and keeps the floors it was given."""

    stops_early = True

    def __init__(self):
        super().__init__()
        self.floors = []

    def __call__(self, cfg, floor=None):
        self.floors.append(floor)
        return super().__call__(cfg)


@needs_optuna
@pytest.mark.parametrize("weight", [None, 0.5])
def test_the_fitness_is_given_the_floor_once_the_base_has_set_it(tmp_path, weight):
    space = Space({"dpi": Param("choice", options=(60, 72, 96)), "font-size": Param("float", low=7, high=12, step=1)},
                  base="glyph-en")
    fit = StopsEarly()
    Search(space, fit, "sharpness", tmp_path, Settings(population=4, generations=2, seed=2, floor="base",
                                                       weight=weight)).run()
    assert fit.floors[0] is None and len(fit.floors) > 2  # the base: read whole, it sets the floor
    assert set(fit.floors[1:]) == ({1.0} if weight is None else {None})  # a weighted score has no floor


@needs_optuna
def test_the_report_shows_the_front_the_generations_the_origins_and_sample_pages(tmp_path):
    from PIL import Image

    from glyphpress.search.report import write_report

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    space = Space({"dpi": Param("choice", options=(60, 72, 96)), "font-size": Param("float", low=7, high=12, step=1),
                   "horizontal-scale": Param("float", low=0.7, high=1.0, step=0.05)}, base="glyph-en")
    out = tmp_path / "run"
    search = Search(space, Sharpness(), "sharpness", out, Settings(population=5, generations=3, seed=1,
                                                                   floor=0.8),
                    references={"narrow": {"horizontal-scale": 0.75}})
    found = search.run()
    (out / "run.json").write_text(json.dumps({"fitness": "sharpness", "model": "qwen2.5-vl", "space": space.to_dict(),
                                              "corpus": [str(corpus)], "settings": {"floor": 0.8}}))
    md, page = write_report(out)
    text = md.read_text()
    for heading in ("## The best θ", "## Pareto front", "## Best score per generation", "## Where candidates came",
                    "## Sample pages"):
        assert heading in text
    base = next(c for c in search.reference if c.label == "base")
    narrow = next(c for c in search.reference if c.label == "narrow")
    row = next(line for line in text.splitlines() if line.startswith("| reference: narrow"))
    assert f"{narrow.evaluation.rho:.3f}" in row and f"{narrow.evaluation.rho / base.evaluation.rho:.3f}x" in row
    best_row = next(line for line in text.splitlines() if line.startswith("| best |"))
    assert f"{found[0].evaluation.rho:.3f}" in best_row
    gen_rows = [line for line in text.splitlines() if line.startswith("| 0 |") or line.startswith("| 2 |")]
    assert len(gen_rows) == 2
    first = {}  # each θ's origin where the search first made it
    for h in map(json.loads, (out / "history.jsonl").read_text().splitlines()):
        if h["origin"] != "reference":
            first.setdefault(h["key"], h["origin"])
    assert "stride" in first.values()
    for origin in set(first.values()):  # a row per origin, with its count
        assert any(line.startswith(f"| {origin} | {list(first.values()).count(origin)} |")
                   for line in text.splitlines())
    assert (out / "search-pareto.png").stat().st_size > 1000 and (out / "search-generations.png").is_file()
    from glyphpress import render

    shown = Image.open(out / "search-page-0.png")
    pages = render(TEXT, space.config(found[0].theta), model="qwen2.5-vl", count_text=False).pages
    assert len(pages) > 1 and shown.size == pages[(len(pages) - 1) // 2].image.size
    html = page.read_text()
    assert html.count("data:image/png;base64,") == 2 + 3 and "http" not in html.split("<body>")[1]
    (out / "run.json").write_text(json.dumps({"space": space.to_dict(), "corpus": [str(tmp_path / "gone.txt")]}))
    assert "no longer where run.json says" in write_report(out)[0].read_text()


@needs_optuna
def test_command_line_errors_are_one_line(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    for args, says in ((["--floor", "high"], "--floor is a number"), (["--floor", "1.5"], "--floor is a number"),
                       (["--floor", "0.9", "--weight", "0.5"], "not both"),
                       (["--reference", "horizontal-scale"], "key=value"),
                       (["--reference", "dpi=-3"], "--reference 'dpi=-3'"),
                       (["--fitness", "bench:no_such_task"], "unknown task"),
                       (["--fitness", "pixels"], "ocr, compression or bench:TASK"),
                       (["--fitness", "bench:niah_single_1", "--route", "visual"], "base-url")):
        out = tmp_path / "x"
        p = cli("--corpus", corpus, "-o", out, *args)
        assert p.returncode == 2 and says in p.stderr and p.stderr.count("\n") == 1, (args, p.stderr)
        assert not (out / "journal.log").exists()
    p = cli("-o", tmp_path / "y", "--fitness", "ocr")
    assert p.returncode == 2 and "needs --corpus" in p.stderr


@needs_optuna
@needs.package("rapidocr", "wonderwords")
def test_a_search_for_legible_needles_from_the_command_line(tmp_path):
    haystack = tmp_path / "haystack.txt"
    haystack.write_text(TEXT * 3)
    out = tmp_path / "needles"
    p = cli("--corpus", haystack, "-o", out, "--fitness", "bench:niah_single_2", "--task-length", "1k",
            "--task-n", "1", "--generations", "1", "--population", "2", "--reference", "dpi=30;font-size=7")
    assert p.returncode == 0, p.stderr
    lines = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    refs = {h["label"]: h for h in lines if h["origin"] == "reference"}
    assert refs["base"]["quality"] == 1.0 and refs["dpi=30;font-size=7"]["rho"] > refs["base"]["rho"]
    assert refs["base"]["info"]["task"] == "niah_single_2" and refs["base"]["info"]["route"] == "ocr"
    run = json.loads((out / "run.json").read_text())
    assert run["fitness"].startswith("bench/niah_single_2/ocr:") and run["settings"]["floor"] == "base"
    assert "reference: dpi=30;font-size=7" in (out / "report.md").read_text()
