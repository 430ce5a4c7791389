"""``glyphpress bench list | run | report``: thin commands over the task registry, the runner and the reports."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ..errors import GlyphpressError

bench_app = typer.Typer(no_args_is_help=True, help="Measure the visual route against plain text with RULER, "
                        "LongBench, MRCR and transcription, scored as the references score them.")
_out = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200)
_err = Console(stderr=True)


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "glyphpress" / "bench"


@bench_app.command("list")
def list_cmd(
    data: Path | None = typer.Option(None, "--data", help="Where local benchmark files are (see bench run)."),
    haystack: str | None = typer.Option(None, "--haystack", help="RULER's haystack (see bench run)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per task."),
) -> None:
    """Every task with its family, source and whether its data is here."""
    from .task import Options, tasks

    options = Options(data=data, haystack=haystack)
    rows = []
    for t in tasks():
        why = t.missing(options)
        rows.append({"task": t.name, "family": t.family, "source": t.source, "data": "present" if not why else why,
                     "generated": t.generated, "scored_without_llm": t.retrieval})
    if as_json:
        for r in rows:
            print(json.dumps(r, ensure_ascii=False))
        return
    reasons: list[str] = []  # each distinct way to obtain missing data, printed once under the table
    table = Table("task", "family", "source", "data")
    for r in rows:
        if r["data"] == "present":
            table.add_row(r["task"], r["family"], r["source"], "[green]present[/]")
            continue
        if r["data"] not in reasons:
            reasons.append(r["data"])
        table.add_row(r["task"], r["family"], r["source"], f"[yellow]missing ({reasons.index(r['data']) + 1})[/]")
    _out.print(table)
    for i, why in enumerate(reasons, 1):
        _out.print(f"({i}) {why}", markup=False, highlight=False)


@bench_app.command("run")
def run_cmd(
    tasks: list[str] = typer.Argument(..., help="Task names or families (ruler, longbench, longbench-e, "
                                      "longbench-v2, mrcr, transcription); `glyphpress bench list` shows them."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder: results.jsonl and run.json (a re-run resumes)."),
    route: list[str] = typer.Option(["both"], "--route", "-r", help="visual, text, ocr or both (visual and text); "
                                    "repeatable."),
    backend: str = typer.Option("openai", "--backend", "-b", help="openai (an OpenAI-compatible server) or "
                                "transformers (a local model) for the VLM."),
    model: str | None = typer.Option(None, "--model", "-m", help="The VLM (visual route; also the text and ocr "
                                     "routes unless --text-model)."),
    base_url: str | None = typer.Option(None, "--base-url", envvar="GLYPHPRESS_BASE_URL", help="The VLM server's "
                                        "OpenAI-compatible base URL."),
    api_key: str | None = typer.Option(None, "--api-key", envvar="GLYPHPRESS_API_KEY", help="Bearer token."),
    context: int | None = typer.Option(None, "--context", help="The VLM's context in tokens (needed for a model "
                                       "the registry lacks): pages that would not fit get a denser θ."),
    vision: str | None = typer.Option(None, "--vision-model", help="Vision geometry of a model the registry lacks."),
    text_model: str | None = typer.Option(None, "--text-model", help="A text LLM for the text and ocr routes."),
    text_base_url: str | None = typer.Option(None, "--text-base-url", help="Its OpenAI-compatible base URL "
                                             "(default: --base-url)."),
    text_context: int | None = typer.Option(None, "--text-context", help="Its context in tokens: longer prompts "
                                            "are cut in the middle, as LongBench does."),
    lengths: str = typer.Option("4k", "--lengths", help="Target lengths of generated tasks, e.g. 4k,32k,128k."),
    n: int = typer.Option(10, "--n", help="Samples per task and length (loaded tasks: the first n, or a seeded "
                          "draw with --seed)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample generators."),
    config: str | None = typer.Option(None, "--config", "-c", help="θ: a preset or a JSON file (default glyph-en)."),
    set_: list[str] | None = typer.Option(None, "--set", help="Override one θ key (repeatable)."),
    data: Path | None = typer.Option(None, "--data", help="Local files of LongBench, MRCR, SQuAD or HotpotQA "
                                     "(a file or a folder)."),
    haystack: str | None = typer.Option(None, "--haystack", help="RULER's haystack: essay, noise or needle for "
                                        "every task, or a text file or folder of your own in place of the essays."),
    depth: float | None = typer.Option(None, "--depth", help="Needle depth in percent (default: RULER's random "
                                       "depths)."),
    tokenizer: str | None = typer.Option(None, "--tokenizer", help="Tokenizer that sizes prompts and counts text "
                                         "tokens: qwen2.5 (default), qwen3.6 or a tokenizer.json."),
    concurrency: int = typer.Option(4, "--concurrency", help="Items in flight at once."),
    retries: int = typer.Option(2, "--retries", help="Retries of an item after an engine error."),
    cache: Path | None = typer.Option(None, "--cache", help="Renders and answers kept across runs (default "
                                      "~/.cache/glyphpress/bench)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Keep renders and answers in memory only."),
    ocr_pages: str = typer.Option("answers", "--ocr-pages", help="ocr route without an LLM: read the lines "
                                  "holding the answers (answers) or every page (all)."),
    device: str = typer.Option("auto", "--device", help="transformers: auto, cuda, mps or cpu."),
    dtype: str = typer.Option("auto", "--dtype", help="transformers: auto, bfloat16, float16 or float32."),
    attn: str | None = typer.Option(None, "--attn", help="transformers: the attention kernel, sdpa (default), "
                                    "eager or flash_attention_2 (needs flash-attn)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run tasks through routes; results are appended per item, so a re-run resumes."""
    import asyncio

    from ..config import load_config
    from ..vlm.ask import make_backend
    from ..vlm.openai import OpenAIBackend
    from ..vlm.registry import model_spec
    from . import routes, runner
    from .task import Options, parse_length

    if ocr_pages not in ("answers", "all"):
        raise GlyphpressError("--ocr-pages is answers or all")
    cfg = load_config(config, set_ or [])
    visual = text = None
    if model:
        spec = model_spec(model, context=context, vision=vision)
        be = make_backend(backend, spec.name, base_url, api_key, device=device, dtype=dtype, attn=attn)
        visual = routes.Engine(be, spec, base_url or "transformers", spec.context)
    if text_model:
        url = text_base_url or base_url
        if not url:
            raise GlyphpressError("--text-model needs --text-base-url (or --base-url)")
        try:
            tspec = model_spec(text_model, context=text_context)
        except GlyphpressError:
            raise GlyphpressError(f"unknown text model {text_model!r}: give its context length with --text-context"
                                  ) from None
        text = routes.Engine(OpenAIBackend(url, tspec.name, api_key=api_key), tspec, url, tspec.context)
    name = " ".join([config or "glyph-en", *(set_ or [])])  # how reports name this θ
    plan = runner.Plan(list(tasks), list(route), out, cfg, name,
                       [parse_length(x) for x in lengths.split(",") if x.strip()], n, seed,
                       Options(data, haystack, tokenizer, depth), visual, text, concurrency, retries,
                       None if no_cache else (cache or default_cache()), ocr_pages)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=_err, transient=True, disable=as_json or not _err.is_terminal) as bar:
        job = bar.add_task("bench", total=None)

        def on_item(done: int, total: int, result) -> None:
            bar.update(job, completed=done, total=total, description=f"{result.task} {result.route}")

        async def go():
            try:
                return await runner.run(plan, on_item)
            finally:
                for e in (visual, text):
                    if e is not None:
                        await e.backend.aclose()

        summary = asyncio.run(go())
    figures = {"out": str(summary.out), "items": summary.total, "done_before": summary.done_before,
               "answered": summary.answered, "failed": summary.failed}
    for name, why in summary.skipped:
        _err.print(f"skipped {name}: {why}", markup=False, highlight=False)
    if summary.skipped:
        figures["skipped"] = [name for name, _ in summary.skipped]
    if as_json:
        print(json.dumps(figures))
    else:
        _out.print(f"{summary.total} items: {summary.done_before} done before, {summary.answered} answered now, "
                   f"{summary.failed} failed -> {summary.out}/results.jsonl; "
                   f"`glyphpress bench report {summary.out}` makes the report", markup=False, highlight=False)
    if summary.failed:
        raise typer.Exit(1)


@bench_app.command("report")
def report_cmd(
    folders: list[Path] = typer.Argument(..., help="Run folders written by `glyphpress bench run` (several are "
                                         "compared side by side)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Where report.md and report.html go (default: the "
                                    "first run folder)."),
    as_json: bool = typer.Option(False, "--json", help="Print the table rows as JSON instead."),
) -> None:
    """A Markdown and a self-contained HTML report: a table per task and length bin, and plots."""
    from .report import summarize, write_report

    if as_json:
        for row in summarize(folders):
            print(json.dumps(row, ensure_ascii=False))
        return
    md, html = write_report(folders, out)
    _out.print(f"{md}\n{html}", markup=False, highlight=False)
