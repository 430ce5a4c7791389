"""``glyphpress search``: the genetic search for θ from the command line (see run.py)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from ..config import parse_set_value
from ..errors import GlyphpressError


def search_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="The run's folder: best.json, pareto/, history.jsonl, "
                             "report.md/.html and the Optuna journal (journal.log), which --resume continues."),
    corpus: list[Path] = typer.Option(None, "--corpus", help="Text files or folders of them: the documents the θ "
                                      "is searched for (read as plain text, joined); for bench:TASK, RULER's "
                                      "haystack (one file or folder; default: the essays)."),
    space: str = typer.Option("en", "--space", help="A space preset (en, zh, code) or a JSON/YAML space file."),
    fitness: str = typer.Option("ocr", "--fitness", help="ocr (ρ and RapidOCR's reading of --pages pages spread "
                                "over the text), compression (ρ only, nothing drawn) or bench:TASK (a bench task's "
                                "metric on a validation set, read by --route)."),
    model: str = typer.Option("qwen2.5-vl", "--model", help="The VLM whose vision tokens ρ counts (and which "
                              "answers on the visual route)."),
    pages: int = typer.Option(8, "--pages", min=1, help="ocr: pages read per candidate."),
    route: str | None = typer.Option(None, "--route", help="bench:TASK: ocr (RapidOCR reads the pages; with "
                                     "--base-url a text LLM answers from the transcript) or visual (the VLM at "
                                     "--base-url reads the pages). Default: visual with --base-url, else ocr."),
    base_url: str | None = typer.Option(None, "--base-url", help="bench:TASK: the OpenAI-compatible endpoint "
                                        "(…/v1) of --model."),
    task_length: str = typer.Option("4k", "--task-length", help="bench:TASK: the samples' target lengths "
                                    "(generated tasks), comma-separated."),
    task_n: int = typer.Option(8, "--task-n", min=1, help="bench:TASK: samples per length in the validation set."),
    data: Path | None = typer.Option(None, "--data", help="bench:TASK: local files of a loaded benchmark."),
    generations: int = typer.Option(5, "--generations", min=1),
    population: int = typer.Option(12, "--population", min=2),
    seed: int = typer.Option(0, "--seed"),
    floor: str | None = typer.Option(None, "--floor", help="Quality a candidate must keep, the score then being ρ: "
                                     "a number (1 - CER for ocr, the task's score for bench) or base (the base θ's "
                                     "own quality: a denser θ that reads as well). Default: base."),
    weight: float | None = typer.Option(None, "--weight", help="Score weight x quality + (1 - weight) x ρ/(1+ρ) "
                                        "instead of a floor."),
    reference: list[str] = typer.Option(None, "--reference", help="A θ to compare with, never a parent: keys over "
                                        "the base, key=value;key=value (repeatable). The base θ is always one."),
    minutes: float | None = typer.Option(None, "--minutes", min=0.1, help="A time limit: no generation is started "
                                         "that would end after it (judged by the last one)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Candidates evaluated at once (processes)."),
    no_screen: bool = typer.Option(False, "--no-screen", help="Evaluate every child, also those whose ρ could not "
                                   "beat the elite even at perfect quality."),
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
    compression, OCR legibility or a bench task, resumable, with a report; its best θ a config that render -c
    loads."""
    import os

    from ..tokens.vision import vision_model
    from .fitness import pareto
    from .report import write_report
    from .run import Search, Settings
    from .space import load_space

    vision_model(model)  # an unknown model is an error before anything is written
    if weight is not None and not 0 <= weight <= 1:
        raise GlyphpressError("--weight is between 0 and 1")
    the_floor = _floor(floor, weight)
    if (out / "journal.log").exists() and not resume:
        raise GlyphpressError(f"{out}: a search ran here; --resume continues it, or choose another --out")
    the_space = load_space(space)
    references = {r: _keys(r) for r in reference or []}
    for name, keys in references.items():
        try:
            the_space.config(keys)
        except GlyphpressError as e:
            raise GlyphpressError(f"--reference {name!r}: {e}") from None
    fit, key, text = _fitness(fitness, corpus or [], model, pages, route, base_url, task_length, task_n, data, seed)
    if not fit.rated:
        the_floor = None
    settings = Settings(population=population, generations=generations, seed=seed, floor=the_floor, weight=weight,
                        workers=workers, screen=not no_screen, minutes=minutes)
    start = time.perf_counter()

    def progress(g: int, everyone) -> None:
        best = everyone[0]
        q = best.evaluation.quality
        rated = [c for c in everyone if c.evaluation.quality is not None]
        front = len(pareto([(c.evaluation.rho, c.evaluation.quality) for c in rated]))
        minutes = (time.perf_counter() - start) / 60
        left = minutes / (g + 1) * (generations - g - 1)
        print(f"generation {g + 1}/{generations}: best {best.score:.3f} (ρ {best.evaluation.rho:.2f}"
              + (f", quality {q:.4f}" if q is not None else "") + f"), {len(everyone)} candidates, Pareto "
              f"{front}, {run.evaluated / minutes if minutes else 0:.1f} evaluations/min, about {left:.1f} min left",
              file=sys.stderr, flush=True)

    proposer = None
    if llm_url:
        from .proposer import Proposer

        proposer = Proposer(llm_url, llm_model, os.environ.get("OPENAI_API_KEY"), llm_proposals)
    run = Search(the_space, fit, key, out, settings, progress, proposer, references,
                 after_generation=lambda s: write_report(s, text),
                 about={"model": model, "corpus": [str(p) for p in corpus or []],
                        "llm": {"url": llm_url, "model": llm_model} if llm_url else None})
    found = run.run()
    if run.stopped:
        print(f"stopped: {run.stopped}", file=sys.stderr)
    best = found[0]
    base = next(c for c in run.reference if c.label == "base")
    gain = f", {best.evaluation.rho / base.evaluation.rho:.2f}x the base's ρ" if base.evaluation.rho else ""
    print(f"best θ: {out / 'best.json'} (score {best.score:.3f}, ρ {best.evaluation.rho:.2f}{gain}"
          + (f", quality {best.evaluation.quality:.4f}" if best.evaluation.quality is not None else "")
          + f"); report: {out / 'report.html'}; {run.evaluated} evaluations run, the rest from the journal")


def _floor(floor: str | None, weight: float | None) -> float | str | None:
    if weight is not None:
        if floor is not None:
            raise GlyphpressError("give --floor or --weight, not both")
        return None
    if floor is None or floor == "base":
        return "base"
    try:
        value = float(floor)
    except ValueError:
        raise GlyphpressError(f"--floor is a number from 0 to 1 or base, not {floor!r}") from None
    if not 0 <= value <= 1:
        raise GlyphpressError(f"--floor is a number from 0 to 1 or base, not {floor!r}")
    return value


def _keys(spec: str) -> dict:
    """``key=value;key=value`` as θ keys (values as the config would read them from --set)."""
    out = {}
    for part in spec.split(";"):
        if not part.strip():
            continue
        k, sep, v = part.partition("=")
        if not sep or not k.strip():
            raise GlyphpressError(f"--reference expects key=value;key=value, got {spec!r}")
        out[k.strip()] = parse_set_value(v.strip())
    return out


def _fitness(fitness: str, corpus: list[Path], model: str, pages: int, route: str | None, base_url: str | None,
             task_length: str, task_n: int, data: Path | None, seed: int):
    """The fitness, its ledger key and the text of the report's sample pages."""
    import hashlib
    import os

    from ..io import read_bytes
    from .fitness import Compression, Legibility, TaskAccuracy

    missing = [str(c) for c in corpus if not c.exists()]
    if missing:
        raise GlyphpressError(f"{', '.join(missing)}: no such file or folder")
    if fitness.startswith("bench:"):
        from ..bench.task import parse_length

        if len(corpus) > 1:
            raise GlyphpressError("bench:TASK takes one --corpus (a file or folder): RULER's haystack")
        lengths = tuple(parse_length(x) for x in task_length.split(",") if x.strip())
        fit = TaskAccuracy(fitness[len("bench:"):], route or ("visual" if base_url else "ocr"), model, base_url,
                           os.environ.get("OPENAI_API_KEY"), lengths, task_n, seed,
                           str(corpus[0]) if corpus else "essay", str(data) if data else None)
        return fit, fit.key(), "\n\n".join(s.context for s in fit.samples()[:1])
    if fitness not in ("ocr", "compression"):
        raise GlyphpressError(f"--fitness is ocr, compression or bench:TASK, not {fitness!r}")
    if not corpus:
        raise GlyphpressError(f"--fitness {fitness} needs --corpus: the documents to search θ for")
    files = sorted(p for c in corpus for p in ([c] if c.is_file() else c.rglob("*")) if p.is_file())
    text = "\n\n".join(read_bytes(p.read_bytes(), str(p)).text for p in files)
    if not text.strip():
        raise GlyphpressError("the corpus has no text")
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    if fitness == "ocr":
        return Legibility(text, model, pages), f"ocr/{model}/{pages}/{digest}", text
    return Compression(text, model), f"compression/{model}/{digest}", text
