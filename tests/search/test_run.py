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
