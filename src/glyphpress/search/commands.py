"""``glyphpress search``: the genetic search for θ from the command line (see run.py)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from ..errors import GlyphpressError


def search_cmd(
    corpus: list[Path] = typer.Option(..., "--corpus", help="Text files or folders of them: the documents the "
                                      "θ is searched for (read as plain text, joined)."),
    out: Path = typer.Option(..., "--out", "-o", help="The run's folder: best.json, pareto/, history.jsonl and "
                             "the Optuna journal (journal.log), which --resume continues."),
    space: str = typer.Option("en", "--space", help="A space preset (en, zh, code) or a JSON/YAML space file."),
    fitness: str = typer.Option("ocr", "--fitness", help="ocr (ρ and RapidOCR's reading of --pages pages spread "
                                "over the text) or compression (ρ only, nothing drawn)."),
    model: str = typer.Option("qwen2.5-vl", "--model", help="The VLM whose vision tokens ρ counts."),
    pages: int = typer.Option(8, "--pages", min=1, help="Pages read by OCR per candidate."),
    generations: int = typer.Option(5, "--generations", min=1),
    population: int = typer.Option(12, "--population", min=2),
    seed: int = typer.Option(0, "--seed"),
    floor: float | None = typer.Option(None, "--floor", help="Quality (1 - CER) a candidate must keep; the score "
                                       "is then ρ (default for ocr: 0.98)."),
    weight: float | None = typer.Option(None, "--weight", help="Score weight x quality + (1 - weight) x ρ/(1+ρ) "
                                        "instead of a floor."),
    workers: int = typer.Option(1, "--workers", min=1, help="Candidates evaluated at once (processes)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out (evaluations in its journal "
                                "are not run again)."),
    llm_url: str | None = typer.Option(None, "--llm-url", help="An OpenAI-compatible endpoint (…/v1) whose model "
                                       "reads the history each generation and proposes candidates; without it the "
                                       "search runs unguided."),
    llm_model: str = typer.Option("default", "--llm-model", help="The model name to ask for at --llm-url."),
    llm_proposals: int = typer.Option(3, "--llm-proposals", min=1, help="Candidates asked of the LLM each "
                                      "generation."),
) -> None:
    """Search θ for your documents and model: a genetic search over a space of rendering keys, scored by
    compression and OCR legibility, resumable, its best θ a config that render -c loads."""
    from ..io import read_bytes
    from ..tokens.vision import vision_model
    from .fitness import Compression, Legibility, pareto
    from .run import Search, Settings
    from .space import load_space

    vision_model(model)  # an unknown model is an error before anything is written
    if fitness not in ("ocr", "compression"):
        raise GlyphpressError(f"--fitness is ocr or compression, not {fitness!r}")
    if weight is not None and not 0 <= weight <= 1:
        raise GlyphpressError("--weight is between 0 and 1")
    if (out / "journal.log").exists() and not resume:
        raise GlyphpressError(f"{out}: a search ran here; --resume continues it, or choose another --out")
    files = sorted(p for c in corpus for p in ([c] if c.is_file() else c.rglob("*") if c.is_dir() else [None])
                   if p is None or p.is_file())
    if None in files:
        missing = [str(c) for c in corpus if not c.exists()]
        raise GlyphpressError(f"{', '.join(missing)}: no such file or folder")
    text = "\n\n".join(read_bytes(p.read_bytes(), str(p)).text for p in files)
    if not text.strip():
        raise GlyphpressError("the corpus has no text")
    the_space = load_space(space)
    if fitness == "ocr":
        fit, key = Legibility(text, model, pages), f"ocr/{model}/{pages}/{_digest(text)}"
        floor = 0.98 if floor is None and weight is None else floor
    else:
        fit, key = Compression(text, model), f"compression/{model}/{_digest(text)}"
    settings = Settings(population=population, generations=generations, seed=seed, floor=floor, weight=weight,
                        workers=workers)
    start = time.perf_counter()

    def progress(g: int, everyone) -> None:
        best = everyone[0]
        q = best.evaluation.quality
        rated = [c for c in everyone if c.evaluation.quality is not None]
        front = len(pareto([(c.evaluation.rho, c.evaluation.quality) for c in rated]))
        minutes = (time.perf_counter() - start) / 60
        left = minutes / (g + 1) * (generations - g - 1)
        print(f"generation {g + 1}/{generations}: best {best.score:.3f} (ρ {best.evaluation.rho:.2f}"
              + (f", quality {q:.3f}" if q is not None else "") + f"), {len(everyone)} candidates, Pareto "
              f"{front}, {run.evaluated / minutes if minutes else 0:.1f} evaluations/min, about {left:.1f} min left",
              file=sys.stderr, flush=True)

    proposer = None
    if llm_url:
        import os

        from .proposer import Proposer

        proposer = Proposer(llm_url, llm_model, os.environ.get("OPENAI_API_KEY"), llm_proposals)
    run = Search(the_space, fit, key, out, settings, progress, proposer)
    found = run.run()
    best = found[0]
    print(f"best θ: {out / 'best.json'} (score {best.score:.3f}, ρ {best.evaluation.rho:.2f}"
          + (f", quality {best.evaluation.quality:.3f}" if best.evaluation.quality is not None else "")
          + f"); {run.evaluated} evaluations run, the rest from the journal")


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:12]
