"""Training data at scale: pages per second of `glyphpress data build` (pre-training mixture, θ from the style
sampler) on this machine's cores and under Ray on this machine, and the projected time for 10 million pages
on N nodes of 32 cores from the measured rate per core.

    python benchmarks/data_speed.py [--samples 120] [--workers N] [--nodes 1,8,32,128]

The corpus is the essays (benchmarks/corpus.py). Each build starts from an empty folder; the Ray figure
includes starting the local Ray cluster, as a user's first build would.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import DATA, essays  # noqa: E402

from glyphpress.train.build import Spec, build  # noqa: E402


def timed(spec: Spec, workers: int, ray: str | None) -> tuple[float, int]:
    out = Path(tempfile.mkdtemp(prefix="glyphpress-data-"))
    try:
        t = time.perf_counter()
        results = build(spec, out, workers=workers, ray_address=ray)
        return time.perf_counter() - t, sum(r.get("pages", 0) for r in results)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=120)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--nodes", default="1,8,32,128")
    args = ap.parse_args()
    essays()
    spec = Spec("pretrain", [str(DATA / "essays.txt")], samples=args.samples, shard_size=10, seed=0)
    print(f"{args.samples} pre-training records (ocr, interleaved, next-page, masked), shards of 10; "
          f"{os.cpu_count()} cores here")
    rows = []
    for name, workers, ray in (("local, 1 process", 1, None), (f"local, {args.workers} processes", args.workers,
                                                                 None), ("Ray on this machine", args.workers, "local")):
        if ray is not None:
            try:
                import ray as _  # noqa: F401
            except ImportError:
                print(f"{name}: Ray is not installed (pip install 'glyphpress[train]')")
                continue
        seconds, pages = timed(spec, workers, ray)
        rows.append((name, workers, pages / seconds))
        print(f"{name:28s} {pages:5d} pages in {seconds:6.1f} s: {pages / seconds:6.2f} pages/s "
              f"({pages / seconds / workers:.2f} per core)")
    per_core = rows[0][2]  # one process: the rate a core sustains
    print(f"projected for 10,000,000 pages at {per_core:.2f} pages/s per core (32 cores a node):")
    for n in (int(x) for x in args.nodes.split(",")):
        hours = 10_000_000 / (per_core * 32 * n) / 3600
        print(f"  {n:4d} nodes: {hours:8.1f} h")


if __name__ == "__main__":
    main()
