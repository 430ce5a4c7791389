"""The GPU timing scripts run end to end on a tiny Qwen2.5-VL on the CPU (their --tiny smoke mode), so a
change elsewhere cannot leave them broken until the next GPU is at hand; each prints a row per size."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from . import needs

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
needs_ml = needs.package("torch", "transformers", "peft")
needs_words = needs.package("wonderwords")  # RULER's keys


@pytest.fixture
def prose(tmp_path, essay_text) -> str:
    """Prose standing in for the essays, which the scripts would otherwise fetch."""
    path = tmp_path / "prose.txt"
    path.write_text(essay_text, encoding="utf-8")
    return str(path)


def _run(script: str, *args: str) -> str:
    out = subprocess.run([sys.executable, str(BENCH / script), "--tiny", "--device", "cpu", *args],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@needs_ml
def test_sft_step_times_both_routes_with_grouped_windows(prose):
    out = _run("gpu_sft_step.py", "--contexts", "1024,2048", "--repeats", "1", "--vision-attention", "grouped",
               "--text", prose)
    assert "vision attention: grouped" in out
    rows = re.findall(r"([\d,]+) text tokens: text step ([\d.]+) s \| (\d+) pages, ([\d,]+) tokens: step ([\d.]+) s "
                      r"\| speedup ([\d.]+)x \| vision-block tensors with a gradient: (\d+)", out)
    assert [r[0] for r in rows] == ["1,024", "2,048"]
    for _, text_s, pages, _, pages_s, speedup, trained in rows:
        assert int(pages) >= 1 and float(text_s) > 0 and float(pages_s) > 0
        assert abs(float(speedup) - float(text_s) / float(pages_s)) < 0.02
        assert int(trained) > 0  # the vision blocks' adapters train on pages


@needs_ml
def test_prefill_decode_takes_a_theta_file(tmp_path, prose):
    theta = tmp_path / "theta.json"
    theta.write_text('{"dpi": 60, "horizontal-scale": 0.75}')
    out = _run("gpu_prefill_decode.py", "--contexts", "2048", "--decode-tokens", "2", "-c", str(theta), "--text", prose)
    row = re.search(r"2,048 text tokens: .* \| pages (\d+), ([\d,]+) tokens: prefill", out)
    assert row, out
    dense = int(row.group(2).replace(",", ""))
    plain = _run("gpu_prefill_decode.py", "--contexts", "2048", "--decode-tokens", "2", "--text", prose)
    assert dense < int(re.search(r"pages \d+, ([\d,]+) tokens", plain).group(1).replace(",", ""))


@needs_ml
@needs_words
def test_routes_bench_runs_niah_through_both_routes_in_process(tmp_path, prose):
    out = _run("gpu_bench_routes.py", "--engine", "transformers", "--lengths", "2k", "--n", "1", "--out",
               str(tmp_path / "out"), "--haystack", prose)
    rows = {m[0]: m for m in re.findall(r"\| 2K \| (text|visual) \| (\d*) \| ([\d,]+) \| ([\d.]+) \| ([\d.]+) \|", out)}
    assert rows.keys() == {"text", "visual"}
    assert rows["text"][1] == "" and int(rows["visual"][1]) >= 1
    assert int(rows["visual"][2].replace(",", "")) < int(rows["text"][2].replace(",", ""))
    assert "failed" not in out
