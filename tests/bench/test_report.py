"""The benchmark report against figures worked out by hand from the results written here (never recomputed
by the code under test): two runs, two routes, two length bins, one errored item, one cached answer."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from glyphpress.bench.report import summarize, write_report
from glyphpress.bench.results import Log, Result
from glyphpress.errors import GlyphpressError

THETA = {"visual": ("default", "aaaa1111"), "text": (None, None)}


def result(task: str, sample: str, bin: str, length: int | None, route: str, score: float | None = None, *,
           model: str | None = None, theta: tuple = (), **kw) -> Result:
    name, digest = theta or THETA.get(route, (None, None))
    return Result(task=task, family="ruler", sample=sample, bin=bin, length=length, route=route,
                  model=model if model is not None else {"visual": "glyph", "text": "qwen"}.get(route, ""),
                  engine="test", theta={"dpi": 72} if digest else None, theta_hash=digest, theta_name=name,
                  score=score, **{"prediction": "an answer", "references": ["7319"], **kw})


def write(folder: Path, results: list[Result], run: dict | None = None) -> Path:
    log = Log(folder)
    for r in results:
        log.write(r)
    if run is not None:
        log.write_run(run)
    log.close()
    return folder


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    """Run A (labelled "Glyph run" in run.json): niah_single_1 at 16K (written first) and 4K, qa_1 at 4K, on the
    visual and text routes; run B (no run.json: its folder's name): niah_single_1 at 4K, visual only."""
    n = "niah_single_1"
    a = [
        # 16K visual: scores 1 and 0.5 -> 75.00; latency 2 and 4 -> 3.00; ρ 3.5 and 4.5 -> 4.00; pages 4 and 5 -> 4.5
        result(n, "16k-0", "16K", 16384, "visual", 1.0, latency_s=2.0, prompt_tokens=4000, ratio=3.5, pages=4,
               vision_tokens=4000, text_tokens=16500),
        result(n, "16k-1", "16K", 16384, "visual", 0.5, latency_s=4.0, prompt_tokens=4000, ratio=4.5, pages=5,
               vision_tokens=4000, text_tokens=16500),
        # 16K text: 0.00; the cached answer's latency is left out -> 9.00, so the speedup is 9 / 3 = 3.00
        result(n, "16k-0", "16K", 16384, "text", 0.0, latency_s=9.0, prompt_tokens=16000, text_tokens=16500),
        result(n, "16k-1", "16K", 16384, "text", 0.0, latency_s=0.01, prompt_tokens=16000, text_tokens=16500,
               cached=True),
        # 4K visual: scores 1, 1, 0 -> 66.67; latency 1, 2, 3 -> 2.00; prompt tokens 1000
        *[result(n, f"4k-{i}", "4K", 4096, "visual", s, latency_s=lat, prompt_tokens=1000, ratio=4.0, pages=1,
                 vision_tokens=1024, text_tokens=4200)
          for i, (s, lat) in enumerate([(1.0, 1.0), (1.0, 2.0), (0.0, 3.0)])],
        # 4K text: scores 1, 1, 1 -> 100.00 and one error (not a 0); latency 5, 7, 9 -> 7.00 (the error's 100 is
        # left out), so the speedup is 7 / 2 = 3.50; prompt tokens 4100 / 1000 = 4.10
        *[result(n, f"4k-{i}", "4K", 4096, "text", 1.0, latency_s=lat, prompt_tokens=4100, text_tokens=4200)
          for i, lat in enumerate([5.0, 7.0, 9.0])],
        result(n, "4k-3", "4K", 4096, "text", error="timeout after 100 s", latency_s=100.0),
        # qa_1 at 4K: visual 0 -> 0.00; text 1 and 0 -> 50.00
        result("qa_1", "4k-0", "4K", 4096, "visual", 0.0, latency_s=1.0, ratio=2.0),
        result("qa_1", "4k-0", "4K", 4096, "text", 1.0, latency_s=1.0),
        result("qa_1", "4k-1", "4K", 4096, "text", 0.0, latency_s=1.0),
    ]
    b = [result(n, f"4k-{i}", "4K", 4096, "visual", s, theta=("dense", "bbbb2222"), latency_s=1.0, ratio=6.0)
         for i, s in enumerate([0.0, 0.0, 1.0, 1.0])]  # 50.00
    return (write(tmp_path / "run-a", a, {"label": "Glyph run", "tasks": [n, "qa_1"]}),
            write(tmp_path / "run-b", b))


def tables(markdown: str) -> dict[str, list[dict[str, str]]]:
    """Each Markdown table under its heading, as rows of header -> cell."""
    out: dict[str, list[dict[str, str]]] = {}
    lines, heading, i = markdown.splitlines(), "", 0
    while i < len(lines):
        if lines[i].startswith("#"):
            heading = lines[i].lstrip("#").strip()
        elif lines[i].startswith("|") and heading not in out:
            head = [c.strip() for c in lines[i].strip().strip("|").split(" | ")]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(dict(zip(head, [c.strip() for c in lines[i].strip().strip("|").split(" | ")])))
                i += 1
            out[heading] = rows
            continue
        i += 1
    return out


def row(rows: list[dict[str, str]], **match: str) -> dict[str, str]:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, rows)
    return found[0]


def test_tables_scores_errors_and_speedup(runs, tmp_path):
    md_path, html_path = write_report(list(runs), tmp_path / "out")
    assert md_path == tmp_path / "out" / "report.md" and html_path == tmp_path / "out" / "report.html"
    t = tables(md_path.read_text(encoding="utf-8"))

    four = t["niah_single_1 · 4K"]
    visual = row(four, run="Glyph run", route="visual")
    assert (visual["score"], visual["n"], visual["errors"]) == ("66.67", "3", "0")
    assert (visual["model"], visual["θ"], visual["latency s"], visual["prompt tokens"]) == ("glyph", "default", "2.00",
                                                                                           "1,000")
    assert (visual["vision tokens"], visual["text tokens"], visual["ρ"], visual["pages"]) == ("1,024", "4,200",
                                                                                            "4.00", "1.0")
    assert (visual["speedup"], visual["prompt ratio"]) == ("3.50×", "4.10×")
    text = row(four, run="Glyph run", route="text")
    assert (text["score"], text["n"], text["errors"], text["latency s"]) == ("100.00", "4", "1", "7.00")
    assert (text["θ"], text["vision tokens"], text["ρ"], text["speedup"]) == ("—", "—", "—", "—")
    other = row(four, run="run-b", route="visual")  # run B has no text route: no speedup from run A's
    assert (other["score"], other["n"], other["θ"], other["speedup"]) == ("50.00", "4", "dense", "—")

    sixteen = t["niah_single_1 · 16K"]
    visual = row(sixteen, route="visual")
    assert (visual["score"], visual["ρ"], visual["pages"], visual["latency s"]) == ("75.00", "4.00", "4.5", "3.00")
    assert (visual["speedup"], visual["prompt ratio"]) == ("3.00×", "4.00×")
    assert (row(sixteen, route="text")["score"], row(sixteen, route="text")["latency s"]) == ("0.00", "9.00")

    qa = t["qa_1 · 4K"]
    assert row(qa, route="visual")["score"] == "0.00" and row(qa, route="text")["score"] == "50.00"

    # overall: the macro average over tasks, per bin and over all bins
    overall = t["Overall (macro average over tasks)"]
    visual = row(overall, run="Glyph run", route="visual")
    assert (visual["4K"], visual["16K"], visual["all bins"], visual["tasks"]) == ("33.33", "75.00", "35.00", "2")
    text = row(overall, run="Glyph run", route="text")
    assert (text["4K"], text["16K"], text["all bins"], text["errors"]) == ("75.00", "0.00", "55.00", "1")
    other = row(overall, run="run-b")
    assert (other["4K"], other["16K"], other["all bins"], other["tasks"]) == ("50.00", "—", "50.00", "1")

    errors = t["Errors"]
    assert row(errors, route="text")["error"] == "timeout after 100 s"
    md = md_path.read_text(encoding="utf-8")
    assert "not scored as 0" in md  # the footnote on errors


def test_bins_in_length_order(runs, tmp_path):
    md, _ = write_report(list(runs), tmp_path / "out")
    text = md.read_text(encoding="utf-8")
    # 16K was written first, and "16K" < "4K" as text: the order comes from the lengths
    assert text.index("### niah_single_1 · 4K") < text.index("### niah_single_1 · 16K")
    assert "| run | route | model | θ | tasks | 4K | 16K | all bins | errors |" in text

    def order(results: list[Result], name: str) -> list[str]:
        folder = write(tmp_path / name, results)
        return list(dict.fromkeys(c["bin"] for c in summarize([folder]) if c["kind"] == "task"))

    lb = [result("lb", b, b, None, "text", 1.0) for b in ("8k+", "128K", "4-8k", "0-4k", "1M", "32K")]
    assert order(lb, "labels") == ["0-4k", "4-8k", "8k+", "32K", "128K", "1M"]
    # labels that are not lengths: by their items' lengths, then by name
    named = [result("v2", "a", "long", 200_000, "text", 1.0), result("v2", "b", "short", 9_000, "text", 1.0),
             result("v2", "c", "medium", 50_000, "text", 1.0), result("v2", "d", "zeta", None, "text", 1.0),
             result("v2", "e", "alpha", None, "text", 1.0)]
    assert order(named, "named") == ["short", "medium", "long", "alpha", "zeta"]
    # LongBench v2's groups carry no length: their own order
    groups = [result("v2", k, g, None, "text", 1.0) for k, g in (("a", "long"), ("b", "short"), ("c", "medium"))]
    assert order(groups, "groups") == ["short", "medium", "long"]
    # no bin: the task's one length as a label ("8K"), else "all"
    unbinned = [result("loaded", "b", "", 900, "text", 1.0), result("loaded", "c", "", 1200, "text", 1.0),
                result("gen", "a", "", 8192, "text", 1.0)]
    assert order(unbinned, "unbinned") == ["all", "8K"]  # in task order
    md, _ = write_report([tmp_path / "unbinned"])
    assert "| route | model | θ | tasks | 8K | all | all bins | errors |" in md.read_text(encoding="utf-8")


def test_summary_as_data(runs):
    rows = summarize(list(runs))
    json.dumps(rows)  # serialisable as it is
    cell = [r for r in rows if r["kind"] == "task" and r["run"] == "Glyph run" and r["task"] == "niah_single_1"
            and r["bin"] == "4K" and r["route"] == "visual"]
    assert len(cell) == 1
    assert (cell[0]["score"], cell[0]["n"], cell[0]["errors"], cell[0]["theta"]) == (66.67, 3, 0, "default")
    assert cell[0]["speedup"] == pytest.approx(3.5) and cell[0]["prompt_ratio"] == pytest.approx(4.1)
    overall = [r for r in rows if r["kind"] == "overall" and r["run"] == "Glyph run" and r["route"] == "text"]
    assert {r["bin"]: r["score"] for r in overall} == {"4K": 75.0, "16K": 0.0, "all": 55.0}


def test_html_is_self_contained_and_plots_are_beside_the_markdown(runs, tmp_path):
    md_path, html_path = write_report(list(runs), tmp_path / "out")
    page = html_path.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<style>" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "<link" not in page and "<script" not in page and "@import" not in page and "url(" not in page
    images = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(images) == 3 and all(src.startswith("data:image/png;base64,") for src in images)
    assert base64.b64decode(images[0].split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    assert 'class="n">66.67</td>' in page  # numbers right-aligned
    md = md_path.read_text(encoding="utf-8")
    for name in ("report-score-length.png", "report-ratio-length.png", "report-score-ratio.png"):
        assert f"]({name})" in md
        assert (tmp_path / "out" / name).read_bytes().startswith(b"\x89PNG")


def test_report_defaults_to_the_first_folder(runs):
    md, page = write_report([runs[0]])
    assert md == runs[0] / "report.md" and page == runs[0] / "report.html"
    assert "run |" not in md.read_text(encoding="utf-8")  # one run: no run column


def test_text_is_escaped(tmp_path):
    evil = "<script>alert(1)</script>"
    folder = write(tmp_path / "evil", [
        result(evil, "s1", "4K", 4096, "text", 1.0, prediction=f"<b>{evil}</b> | a & b", model="m<i>"),
        result(evil, "s1", "4K", 4096, "visual", 0.0, error=f"engine said {evil}", model="m<i>"),
    ])
    md_path, html_path = write_report([folder])
    page, md = html_path.read_text(encoding="utf-8"), md_path.read_text(encoding="utf-8")
    assert "<script" not in page and "<b>" not in page and "m<i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;" in page and "a &amp; b" in page
    assert "<script" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "\\| a & b" in md  # a bar in a cell does not break the table


def test_missing_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(GlyphpressError, match="results.jsonl") as e:
        write_report([tmp_path / "nowhere"])
    assert "\n" not in str(e.value)
    (tmp_path / "empty-dir").mkdir()
    with pytest.raises(GlyphpressError, match="results.jsonl"):
        summarize([tmp_path / "empty-dir"])
    with pytest.raises(GlyphpressError):
        write_report([])


def test_empty_results_say_so(tmp_path):
    folder = write(tmp_path / "fresh", [])
    assert (folder / "results.jsonl").read_text() == ""
    md, page = write_report([folder])
    assert "No results yet" in md.read_text(encoding="utf-8") and "No results yet" in page.read_text(encoding="utf-8")
    assert summarize([folder]) == []
    assert not list(folder.glob("*.png"))


def test_plots_without_their_data_are_skipped_with_a_sentence(tmp_path):
    folder = write(tmp_path / "text-only", [
        result("niah_single_1", "a", "4K", 4096, "text", 1.0), result("niah_single_1", "b", "16K", 16384, "text", 0.0),
    ])
    (folder / "report-ratio-length.png").write_bytes(b"stale")  # from an earlier report of this folder
    md, page = write_report([folder])
    text = md.read_text(encoding="utf-8")
    assert "](report-score-length.png)" in text  # one route over two bins is still a line
    assert "no route with pages here" in text and "no route with pages here" in page.read_text(encoding="utf-8")
    assert "](report-ratio-length.png)" not in text and not (folder / "report-ratio-length.png").exists()
    assert "](report-score-ratio.png)" not in text


def test_an_item_run_again_counts_once(tmp_path):
    folder = write(tmp_path / "again", [
        result("qa_1", "s1", "4K", 4096, "text", error="connection refused"),
        result("qa_1", "s2", "4K", 4096, "text", 0.0),
        result("qa_1", "s1", "4K", 4096, "text", 1.0),  # the re-run of the errored item
    ])
    (cell,) = [r for r in summarize([folder]) if r["kind"] == "task"]
    assert (cell["n"], cell["errors"], cell["score"]) == (2, 0, 50.0)


def test_no_speedup_for_a_transcript_without_an_llm(tmp_path):
    rows = [result("vt", "a", "4K", 4096, "text", 1.0, latency_s=8.0, prompt_tokens=4000),
            result("vt", "a", "4K", 4096, "ocr", 1.0, model="", latency_s=2.0, prompt_tokens=None),
            result("vt", "a", "4K", 4096, "ocr", 1.0, model="qwen", latency_s=4.0, prompt_tokens=2000)]
    cells = [c for c in summarize([write(tmp_path / "r", rows)]) if c["kind"] == "task" and c["route"] == "ocr"]
    by_model = {c["model"]: c for c in cells}
    assert by_model[""]["speedup"] is None  # OCR time against an LLM's answer would mean nothing
    assert by_model["qwen"]["speedup"] == pytest.approx(2.0) and by_model["qwen"]["prompt_ratio"] == pytest.approx(2.0)
