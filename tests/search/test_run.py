"""The genetic search: end to end from the command line, its outputs, resuming from the Optuna journal after
kill -9, and a tiny search with the OCR fitness."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from glyphpress import load_config
from glyphpress.search import Legibility, Param, Space
from glyphpress.search.run import Search, Settings

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
    assert "best θ" in p.stdout
    best = load_config(str(out / "best.json"))  # loads as a config
    lines = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    ran = [line for line in lines if not line["cached"]]
    assert len({line["key"] for line in ran}) == len(ran) >= 5  # no candidate evaluated twice
    for g in (1, 2):  # elitism: the two best of a generation go on to the next
        before = sorted((line for line in lines if line["generation"] == g - 1), key=lambda x: -x["score"])
        elites = {line["key"] for line in lines if line["generation"] == g and line["origin"] == "elite"}
        assert elites == {line["key"] for line in before[:2]}
    assert max(line["score"] for line in lines) == pytest.approx(max(line["rho"] for line in lines))
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
    ran = int(p.stdout.split("; ")[1].split()[0])
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
    assert [g for g, _ in seen] == [0, 1] and search.evaluated == len(found) >= 3
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
    assert {h["generation"] for h in history} == {0, 1, 2, 3} and found[0].score >= max(h["score"] for h in llm)
