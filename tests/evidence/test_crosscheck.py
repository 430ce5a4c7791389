"""Cross-checking documents and comparing revisions: the VLM's list of disagreements parsed and each side
located in its own document; two revisions of a Markdown contract rendered as their marked differences;
both through the ask command against a loopback OpenAI-compatible server."""

import json
import subprocess
import sys

import numpy as np

from glyphpress import render
from glyphpress.evidence.crosscheck import parse, question
from glyphpress.evidence.revisions import ADDED, REMOVED, compare

from ..vlm.fake_server import FakeEngine

FILL = "\n\n".join(f"Section {i}. The service is run from two data centres with daily backups." for i in range(40))
SPEC_A = ("Section 0. The staging system answers in under 500 ms at the 99th percentile.\n\n" + FILL
          + "\n\nSection 40. Every API request is answered in under 200 ms at the 99th percentile.\n")
SPEC_B = ("Section 1. Earlier drafts promised under 200 ms; that target was dropped.\n\n" + FILL
          + "\n\nSection 41. Every API request is answered in under 500 ms at the 99th percentile.\n")
REPLY = ('Here is what I found:\n```json\n[{"topic": "API response time", "sides": ['
         '{"document": "A", "says": "under 200 ms at the 99th percentile"}, '
         '{"document": "spec-b.md", "says": "under 500 ms at the 99th percentile"}]}]\n```')


def ask(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "glyphpress", "ask", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def test_replies_are_parsed_as_json_or_as_a_table():
    names = ["spec-a.md", "spec-b.md"]
    [d] = parse(REPLY, names)
    assert d.topic == "API response time" and [s.document for s in d.sides] == names
    table = ("| topic | spec-a.md | spec-b.md |\n|---|---|---|\n| latency | “under 200 ms” | under 500 ms |\n"
             "| backups | daily | weekly |")
    rows = parse(table, names)
    assert [(r.topic, [s.says for s in r.sides]) for r in rows] == [("latency", ["under 200 ms", "under 500 ms"]),
                                                                  ("backups", ["daily", "weekly"])]
    assert parse("They agree on everything.", names) == [] and parse("[]", names) == []
    assert parse('[{"topic": "x", "sides": [{"document": "Document B", "says": "y"}]}]', names)[0].sides[0]\
        .document == "spec-b.md"
    q = question(names, "latency")
    assert "A: spec-a.md; B: spec-b.md" in q and "about latency" in q and "JSON array" in q


def test_cross_check_locates_each_side_in_its_own_document(tmp_path):
    a, b = tmp_path / "spec-a.md", tmp_path / "spec-b.md"
    a.write_text(SPEC_A)
    b.write_text(SPEC_B)
    with FakeEngine(answer=REPLY) as eng:
        p = ask(a.name, b.name, "--cross-check", "--topic", "latency", "--model", "Qwen/Qwen2.5-VL-7B-Instruct",
                "--base-url", eng.url, "--json", cwd=tmp_path)
        asked = eng.requests[0]["body"]["messages"][-1]["content"][-1]["text"]
    assert p.returncode == 0, p.stderr
    assert "about latency" in asked and "spec-a.md" in asked
    [d] = json.loads(p.stdout)["disagreements"]
    side_a, side_b = d["sides"]
    assert side_a["document"] == "spec-a.md" and side_b["document"] == "spec-b.md"
    ca, cb = side_a["citations"][0], side_b["citations"][0]
    assert ca["document"] == "spec-a.md" and cb["document"] == "spec-b.md"  # B's words are in A too: not there
    assert ca["snippet"] == "under 200 ms at the 99th percentile" and ca["kind"] == "quote"
    assert ca["label"].startswith("[spec-a.md, p. ") and cb["label"].startswith("[spec-b.md, p. ")
    with FakeEngine(answer=REPLY) as eng:
        p = ask(a.name, b.name, "--cross-check", "--model", "Qwen/Qwen2.5-VL-7B-Instruct", "--base-url", eng.url,
                cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "1. API response time"
    assert lines[1].startswith("   spec-a.md: “under 200 ms at the 99th percentile” [spec-a.md, p. ")
    assert lines[2].startswith("   spec-b.md: “under 500 ms at the 99th percentile” [spec-b.md, p. ")


def test_cross_check_errors_are_one_line(tmp_path):
    a = tmp_path / "a.md"
    a.write_text(SPEC_A)
    for args, says in ((["--cross-check"], "two documents or more"), ([a, "--topic", "x", "-q", "q"], "--topic"),
                       ([a, a, "--cross-check", "-q", "q"], "leave out -q"),
                       ([a, "--compare", a, a, "-q", "q"], "no other")):
        p = ask(*([a] if args[0] == "--cross-check" else []), *args, "--base-url", "http://127.0.0.1:9/v1")
        assert p.returncode == 2 and says in p.stderr and p.stderr.count("\n") == 1, (args, p.stderr)


OLD = ("# Service contract\n\n" + FILL + "\n\nSection 40. Response time is under 500 ms.\n\n"
       "Section 41. Fees are due in 30 days.\n")
NEW = (OLD.replace("Section 3. The service is run from two data centres with daily backups.\n\n", "")
       .replace("under 500 ms.", "under 200 ms.\n\nSection 40a. Support answers on weekdays.")
       .replace("due in 30 days.", "due in 45 days.\n\nSection 42. Either party may end it with 90 days notice."))


def test_two_revisions_become_their_marked_differences():
    c = compare(OLD, NEW, "v1.md", "v2.md")
    text = c.document.source
    assert "Response time is under [-500-] {+200+} ms." in text and "Fees are due in [-30-] {+45+} days." in text
    assert "{+Section 42. Either party may end it with 90 days notice.+}" in text
    assert "{+Section 40a. Support answers on weekdays.+}\n\nSection 41. Fees" in text  # added between edits
    assert "[-Section 3. The service is run from two data centres with daily backups.-]" in text
    assert "[… 34 unchanged paragraphs …]" in text and "Section 20." not in text  # far from any change
    assert c.paragraphs == 5 and c.removed == 1 + 1 + 13 and c.added == 1 + 1 + 11 + 6  # words, counted by hand
    page = np.asarray(render(c.document, "glyph-en", count_text=False).pages[0].image.convert("RGB")).astype(int)
    red = ((page[..., 0] > 150) & (page[..., 1] < 100)).sum()
    green = ((page[..., 1] > 90) & (page[..., 0] < 80) & (page[..., 2] < 80)).sum()
    assert red > 50 and green > 50  # removals drawn red, additions green
    assert compare(OLD, OLD).paragraphs == 0 and [s.color for b in compare(OLD, NEW).document.blocks
                                                  for s in b.spans if s.color] .count(ADDED) >= 3
    assert REMOVED != ADDED


def test_ask_about_the_changes_between_revisions(tmp_path):
    (tmp_path / "v1.md").write_text(OLD)
    (tmp_path / "v2.md").write_text(NEW)
    with FakeEngine(answer="The response time went from under 500 ms to under 200 ms.") as eng:
        p = ask("--compare", tmp_path / "v1.md", tmp_path / "v2.md", "-q", "What changed?", "--model",
                "Qwen/Qwen2.5-VL-7B-Instruct", "--base-url", eng.url, "--notes", tmp_path / "n.md")
        pages = [x for x in eng.requests[0]["body"]["messages"][-1]["content"] if x.get("type") == "image_url"]
    assert p.returncode == 0, p.stderr
    assert len(pages) == 1  # the differences only: one page, where the whole contract takes two
    note = (tmp_path / "n.md").read_text()
    assert "# Questions about v1.md → v2.md" in note


def test_hostile_replies_and_names_that_do_not_say_which_document():
    from glyphpress.evidence.crosscheck import Disagreement, Side, _document, locate_sides

    names = ["spec-a.md", "spec-b.md"]
    assert parse('[{"topic": "x", "sides": 5}]', names) == [] and parse('[{"topic": "x", "sides": null}]', names) == []
    t = __import__("time").perf_counter()
    assert parse("[" * 5000, names) == [] and __import__("time").perf_counter() - t < 2
    assert _document("policy.md", ["v1/policy.md", "v2/policy.md"]) is None  # two of that name: not a guess
    assert _document("B", ["v1/policy.md", "v2/policy.md"]) == 1 and _document("Document A", names) == 0
    assert _document("report-2024", ["report.md", "report-2024.md"]) == 1  # the longest name it holds
    assert _document("Contract B", ["a.txt", "b.txt"]) is None
    assert "A: v1/policy.md; B: v2/policy.md" in question(["v1/policy.md", "v2/policy.md"])
    r = render(__import__("glyphpress.document", fromlist=["bundle"]).bundle(
        [SPEC_A, SPEC_B], names), "glyph-en", count_text=False)
    d = [Disagreement("latency", [Side("spec-b.md", "under 450 ms at the 99th percentile", part=1),
                                  Side("spec-c.md", "under 200 ms at the 99th percentile", part=None)])]
    locate_sides(d, r)
    assert d[0].sides[0].citations == []  # a misquoted value is not confirmed by the other one's line
    assert d[0].sides[1].citations == []  # nor a side whose document is none of them
