"""``glyphpress data build``: training data from a corpus or question-answer samples (see build.py)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import typer

from ..errors import GlyphpressError

data_app = typer.Typer(help="Training data: rendered pages for continual pre-training, SFT and RL.",
                       no_args_is_help=True)


@data_app.command("build")
def build_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="The data folder: parquet/, jsonl/, README.md (the card) "
                             "and spec.json; a build there resumes, finished shards kept."),
    kind: str = typer.Option(None, "--kind", help="pretrain, sft or rl."),
    corpus: list[str] = typer.Option(None, "--corpus", help="Text files, JSON lines, Parquet files or datasets "
                                     "folders (pretrain; RULER's haystack for --source bench:TASK)."),
    source: str | None = typer.Option(None, "--source", help="sft/rl: bench:TASK or a JSON lines file of context, "
                                      "question and answer."),
    tasks: str | None = typer.Option(None, "--tasks", help="pretrain: the mixture, for example "
                                     "ocr=0.4,interleaved=0.2,next-page=0.2,masked=0.2."),
    samples: int | None = typer.Option(None, "--samples", help="Records to build (default 100)."),
    seed: int | None = typer.Option(None, "--seed"),
    shard_size: int | None = typer.Option(None, "--shard-size", help="Records per shard (default 50)."),
    model: str | None = typer.Option(None, "--model", help="The VLM whose vision tokens are counted."),
    config: str | None = typer.Option(None, "--config", "-c", help="sft/rl: the θ (a preset or config file, e.g. "
                                      "a search's best.json)."),
    ocr_rate: float | None = typer.Option(None, "--ocr-rate", help="sft: share of auxiliary OCR items."),
    length: str | None = typer.Option(None, "--length", help="bench sources: target length (e.g. 4k)."),
    data: str | None = typer.Option(None, "--data", help="bench sources: local files of a loaded benchmark."),
    font: list[str] = typer.Option(None, "--font", help="pretrain: a font file added to the style pool."),
    spec_file: Path | None = typer.Option(None, "--spec", help="A JSON/YAML spec with these fields (options given "
                                          "here override it)."),
    workers: int = typer.Option(os.cpu_count() or 1, "--workers", min=1, help="Local processes."),
    ray: str | None = typer.Option(None, "--ray", help="Build on Ray: local (a cluster on this machine) or a "
                                   "cluster's address; the output folder must be shared by its nodes."),
) -> None:
    """Build training data: shards of records in TRL's vision layout and for ms-swift/LLaMA-Factory, with a
    dataset card; all local cores, or Ray; deterministic and resumable."""
    from dataclasses import asdict

    from .build import Spec, build

    base = asdict(Spec.load(spec_file)) if spec_file else {"kind": None}
    given = {"kind": kind, "corpus": corpus or None, "source": source, "samples": samples, "seed": seed,
             "shard_size": shard_size, "model": model, "config": config, "ocr_rate": ocr_rate, "length": length,
             "data": data, "fonts": font or None, "tasks": _mixture(tasks) if tasks else None}
    values = base | {k: v for k, v in given.items() if v is not None}
    if not values.get("kind"):
        raise GlyphpressError("give --kind pretrain, sft or rl (or a --spec file with it)")
    spec = Spec(**values)
    t0 = time.perf_counter()
    done = {"records": 0, "pages": 0}

    def progress(r: dict) -> None:
        if not r["skipped"]:
            done["records"] += r["records"]
            done["pages"] += r["pages"]
        rate = done["pages"] / max(1e-9, time.perf_counter() - t0)
        print(f"{r['shard']}: " + ("already built" if r["skipped"] else f"{r['records']} records, {r['pages']} pages")
              + f" ({rate:.1f} pages/s)", file=sys.stderr, flush=True)

    results = build(spec, out, workers, ray, progress)
    made = [r for r in results if not r["skipped"]]
    print(f"{out}: {len(results)} shards ({len(made)} built now, {len(results) - len(made)} already there), "
          f"{done['records']} records and {done['pages']} pages built in {time.perf_counter() - t0:.1f} s; "
          f"card: {out / 'README.md'}")


def _mixture(text: str) -> dict[str, float]:
    out = {}
    for part in text.split(","):
        name, sep, w = part.partition("=")
        try:
            out[name.strip()] = float(w) if sep else 1.0
        except ValueError:
            raise GlyphpressError(f"--tasks: {part!r} is not task=weight") from None
    return out
