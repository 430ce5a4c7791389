"""The ``glyphpress`` command. Each command is a thin call into the library."""

from __future__ import annotations

import inspect
import json
import os
import re
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from . import __version__
from .bench.commands import bench_app
from .config import PRESETS, PUBLISHED_KEYS, RenderConfig, load_config
from .document import (
    FORMATS,
    PDF_MODES,
    Document,
    ImageDocument,
    Limits,
    LoadOptions,
    RasterDocument,
    bundle,
    load,
    load_bytes,
)
from .errors import GlyphpressError, InputError, NothingToRender
from .io import expand_inputs
from .parallel import default_jobs
from .pipeline import count, render_to_dir
from .result import Rendered
from .search.commands import search_cmd
from .tokens.counting import start_background
from .tokens.vision import VISION_MODELS, vision_model
from .train.commands import data_app
from .train.train_commands import train_app


def _flags_show_no_value() -> None:
    """typer's --help puts a type label (``<bool>``) beside every option, flags and --help included, as if
    they took a value: flags get none."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None:  # another typer: nothing to mend
        return

    def display_type_rich(self, ctx):
        return None if getattr(self, "is_flag", False) and not getattr(self, "count", False) else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich


_flags_show_no_value()
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Render long text into compact page images for vision-language models, "
                       "with exact text/vision token accounting.")
config_app = typer.Typer(no_args_is_help=True, help="Show, list and validate rendering configurations (θ).")
app.add_typer(config_app, name="config")
app.add_typer(bench_app, name="bench")
app.command("search")(search_cmd)
app.add_typer(data_app, name="data")
app.add_typer(train_app, name="train")
# piped tables stay unwrapped, unless COLUMNS says how wide
out_console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200)
err_console = Console(stderr=True)

INPUTS_HELP = "Text files, folders (every file inside), or - for standard input."
CONFIG_HELP = f"A preset ({', '.join(PRESETS)}) or a JSON file with the published Glyph keys."
SET_HELP = "Override one θ key, e.g. --set dpi=96 --set newline-markup=marker (repeatable)."
MODEL_HELP = f"Vision model whose image processor decides vision tokens: {', '.join(VISION_MODELS)} or a hub id."
TOKENIZER_HELP = "Text tokenizer: qwen2.5 (default), qwen3.6, or a path to a tokenizer.json."
FORMAT_HELP = "Input format: auto (by file name: .md is Markdown, source files are code, .png .jpg .webp .tif " + \
    "are images), " + ", ".join(FORMATS[1:]) + "."
BUNDLE_HELP = "Render all inputs as one context, each document behind a title bar."
PDF_MODE_HELP = "PDF: rerender (its text re-rendered under θ, compact) or raster (its pages as images)."
# options that render, count and ask share
FORMAT_OPT = typer.Option("auto", "--format", "-f", help=FORMAT_HELP)
BUNDLE_OPT = typer.Option(False, "--bundle", help=BUNDLE_HELP)
LINE_NUMBERS_OPT = typer.Option(False, "--line-numbers", help="Number the lines of code.")
PDF_MODE_OPT = typer.Option("rerender", "--pdf-mode", help=PDF_MODE_HELP)
PDF_DPI_OPT = typer.Option(72, "--pdf-dpi", help="Resolution of PDF pages in raster mode.")
PASSWORD_OPT = typer.Option(None, "--password", help="Password of an encrypted PDF.")
MAX_PAGES_OPT = typer.Option(2000, "--max-pages", help="Refuse PDFs with more pages than this.")
PARSE_TIMEOUT_OPT = typer.Option(120, "--parse-timeout", help="Seconds allowed for parsing one PDF, DOCX, EPUB or "
                                 "HTML file, and for reading each page of an image or scan with OCR (0: no limit).")
OCR_OPT = typer.Option(True, "--ocr/--no-ocr", help="Read the text of images and of PDF pages without a text layer "
                       "with OCR (the ocr extra), for token accounting and the text-only baseline.")


def print_error(message: str) -> None:
    """One line on stderr, never wrapped."""
    print(f"error: {message}".replace("\n", " "), file=sys.stderr, flush=True)


def sample_text() -> str:
    return (resources.files("glyphpress") / "samples" / "sample.txt").read_text(encoding="utf-8")


def _load_cfg(config: str | None, sets: list[str] | None) -> RenderConfig:
    return load_config(config, sets or [])


def _sources(inputs: list[str], sample: bool) -> list[str]:
    if sample:
        if inputs:
            raise GlyphpressError("give either --sample or inputs, not both")
        return [":sample:"]
    if not inputs:
        raise GlyphpressError("no input given (a file, a folder, - for stdin, or --sample)")
    if inputs.count("-") > 1:
        raise GlyphpressError("- (stdin) can be given once")
    return expand_inputs(inputs)


@dataclass(frozen=True)
class _Stdin:
    """Standard input, read by this process for a render whose inputs are read by worker processes (their
    standard input is not this one)."""

    data: bytes


@dataclass
class _How:
    """How inputs are read: format, PDF mode and limits, code line numbers."""

    fmt: str = "auto"
    opts: LoadOptions = field(default_factory=LoadOptions)
    line_numbers: bool = False


def _how(fmt: str, pdf_mode: str, pdf_dpi: float, password: str | None, max_pages: int, parse_timeout: float,
         line_numbers: bool, ocr: bool = True) -> _How:
    if fmt not in FORMATS:
        raise GlyphpressError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if pdf_mode not in PDF_MODES:
        raise GlyphpressError(f"unknown PDF mode {pdf_mode!r}; use {' or '.join(PDF_MODES)}")
    if not 1 <= pdf_dpi <= 1200:
        raise GlyphpressError(f"--pdf-dpi must be between 1 and 1200, got {pdf_dpi:g}")
    if max_pages < 1 or parse_timeout < 0:
        raise GlyphpressError("--max-pages must be at least 1 and --parse-timeout at least 0")
    return _How(fmt, LoadOptions(pdf_mode, pdf_dpi, password, Limits(max_pages=max_pages), parse_timeout or None,
                                 ocr=ocr), line_numbers)


def _document(spec: str | Document | _Stdin, how: _How, warn: bool = True
              ) -> tuple[str | Document | RasterDocument | ImageDocument, str]:
    if isinstance(spec, Document):  # a bundle, already read
        if warn:
            _warn(spec)
        return spec, spec.name
    if spec == ":sample:":
        return sample_text(), "sample.txt"
    if spec == "-" or isinstance(spec, _Stdin):
        data = spec.data if isinstance(spec, _Stdin) else sys.stdin.buffer.read()
        content, name = load_bytes(data, "stdin", how.fmt, how.opts), "stdin"
    else:
        content, name = load(spec, how.fmt, how.opts), spec
    if warn:
        _warn(content)
    return content, name


def _warn(content) -> None:
    for warning in getattr(content, "warnings", []):
        print(f"warning: {warning}", file=sys.stderr)


class _Outcomes:
    """What became of several inputs: a file found in a folder with nothing to render (empty, blank, binary)
    is skipped with a warning; any other failure, or such a file named on its own, is an error (exit 2)."""

    def __init__(self, inputs: list[str] | None):
        self.explicit = set(inputs or [])
        self.failures: list[str] = []
        self.skipped: list[str] = []

    def failed(self, spec, e: GlyphpressError) -> None:
        if isinstance(e, NothingToRender) and isinstance(spec, str) and spec not in self.explicit:
            self.skipped.append(str(e))
            print(f"warning: skipped {e}", file=sys.stderr, flush=True)
        else:
            self.failures.append(str(e))
            print_error(str(e))

    def finish(self, done: int, verb: str = "rendered") -> None:
        if self.skipped:
            print(f"{done} {verb}, {len(self.skipped)} skipped (empty, blank or binary files in folders)",
                  file=sys.stderr, flush=True)
        if self.failures or not done:
            raise typer.Exit(2)


def _bundle(specs: list[str], how: _How, outcomes: _Outcomes) -> Document:
    docs, names = [], []
    for s in specs:
        try:
            doc, name = _document(s, how)
        except NothingToRender as e:
            outcomes.failed(s, e)
            if outcomes.failures:
                raise
            continue
        docs.append(doc)
        names.append(name)
    if not docs:
        raise InputError("nothing to render: every input is empty, blank or binary")
    return bundle(docs, names)


def _inputs(inputs: list[str] | None, sample: bool, how: _How, as_bundle: bool,
            outcomes: _Outcomes | None = None) -> list:
    """Input specs (files, ``-``, the sample), or one bundle Document of them all."""
    specs: list = _sources(inputs or [], sample)
    return [_bundle(specs, how, outcomes or _Outcomes(inputs))] if as_bundle else specs


def _out_name(spec: str | _Stdin) -> str:
    if spec == ":sample:":
        return "sample"
    if spec == "-" or isinstance(spec, _Stdin):
        return "stdin"
    name = re.sub(r"^(\.\.?/)+|^/+", "", spec).replace("/", "__").replace("\\", "__")
    return re.sub(r"[^\w.\-]+", "_", name) or "input"


def _summary_table(results: list[Rendered], dirs: dict[str, str] | None = None) -> Table:
    t = Table(show_edge=False)
    for col in ("input", "pages", "characters", "text tokens", "vision tokens", "ρ"):
        t.add_column(col, justify="left" if col == "input" else "right")
    if dirs:
        t.add_column("output")
    for r in results:
        row = [r.name, str(len(r.pages)), f"{r.characters:,}",
               "-" if r.text_tokens is None else f"{r.text_tokens:,}", f"{r.vision_tokens:,}",
               "-" if r.ratio is None else f"{r.ratio:.2f}"]
        if dirs:
            row.append(dirs.get(r.name, ""))
        t.add_row(*row)
    return t


def _render_one(spec: str | Document | _Stdin, out_dir: str, cfg: RenderConfig, model: str | None,
                tokenizer: str | None, jobs: int, how: _How, progress=None) -> Rendered:
    content, name = _document(spec, how)
    return render_to_dir(content, out_dir, cfg, model=model, tokenizer=tokenizer, jobs=jobs, name=name,
                         progress=progress, line_numbers=how.line_numbers)


@app.command("render")
def render_cmd(
    inputs: list[str] = typer.Argument(None, help=INPUTS_HELP, show_default=False),
    config: str | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    set_: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
    out: Path = typer.Option(Path("out"), "--out", "-o",
                             help="Output folder (one sub-folder per input when there are several)."),
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    tokenizer: str | None = typer.Option(None, "--tokenizer", "-t", help=TOKENIZER_HELP),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes to use (0: one per core)."),
    fmt: str = FORMAT_OPT,
    bundle_: bool = BUNDLE_OPT,
    line_numbers: bool = LINE_NUMBERS_OPT,
    pdf_mode: str = PDF_MODE_OPT,
    pdf_dpi: float = PDF_DPI_OPT,
    password: str | None = PASSWORD_OPT,
    max_pages: int = MAX_PAGES_OPT,
    parse_timeout: float = PARSE_TIMEOUT_OPT,
    ocr: bool = OCR_OPT,
    sample: bool = typer.Option(False, "--sample", help="Render the bundled sample document."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table."),
) -> None:
    """Render inputs to page images plus manifest.json, and print the token accounting."""
    cfg = _load_cfg(config, set_)
    vision_model(model)  # fail early on a bad name
    how = _how(fmt, pdf_mode, pdf_dpi, password, max_pages, parse_timeout, line_numbers, ocr)
    outcomes = _Outcomes(inputs)
    specs = _inputs(inputs, sample, how, bundle_, outcomes)
    if len(specs) == 1:
        start_background(tokenizer)  # the tokenizer loads while this process reads and draws
    jobs = jobs if jobs > 0 else default_jobs()
    results: list[Rendered] = []
    dirs: dict[str, str] = {}
    quiet = as_json or not err_console.is_terminal
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, disable=quiet, transient=True) as bar:
        if len(specs) == 1:
            task = bar.add_task("rendering pages", total=None)
            r = _render_one(specs[0], str(out), cfg, model, tokenizer, jobs, how,
                            progress=lambda n: bar.update(task, completed=n))
            results.append(r)
            dirs[r.name] = str(out)
        else:
            task = bar.add_task("rendering documents", total=len(specs))
            specs = [_Stdin(sys.stdin.buffer.read()) if s == "-" else s for s in specs]
            with ProcessPoolExecutor(max_workers=min(jobs, len(specs))) as pool:
                futs = {pool.submit(_render_one, s, str(out / _out_name(s)), cfg, model, tokenizer, 1, how): s
                        for s in specs}
                for fut in as_completed(futs):
                    spec = futs[fut]
                    try:
                        r = fut.result()
                        results.append(r)
                        dirs[r.name] = str(out / _out_name(spec))
                    except GlyphpressError as e:
                        outcomes.failed(spec, e)
                    bar.advance(task)
            order = {str(out / _out_name(s)): i for i, s in enumerate(specs)}
            results.sort(key=lambda r: order.get(dirs[r.name], 0))
    if as_json:
        data = [dict(r.summary(), output=dirs[r.name], manifest=str(Path(dirs[r.name]) / "manifest.json"),
                     timings=r.timings) for r in results]
        out_console.print_json(json.dumps(data[0] if len(specs) == 1 and data else data))
    else:
        out_console.print(_summary_table(results, dirs))
    _warn_missing(results)
    outcomes.finish(len(results))


def _warn_missing(results: list[Rendered]) -> None:
    """One warning line for every character drawn without a glyph (as a box), over all inputs."""
    missing: Counter[str] = Counter()
    for r in results:
        missing.update(r.missing_glyphs)
    if missing:
        ranked = missing.most_common()
        shown = ", ".join(f"{ch + ' ' if ch.isprintable() else ''}(U+{ord(ch):04X}) x{n}" for ch, n in ranked[:8])
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        total = sum(missing.values())
        drawn = "characters had no glyph in any font and were drawn as boxes" if total > 1 else \
            "character had no glyph in any font and was drawn as a box"
        err_console.print(f"warning: {total} {drawn}: {shown}{more} (add a font with --set fallback-fonts=...)",
                          markup=False, highlight=False, soft_wrap=True)


@app.command("count")
def count_cmd(
    inputs: list[str] = typer.Argument(None, help=INPUTS_HELP, show_default=False),
    config: str | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    set_: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    tokenizer: str | None = typer.Option(None, "--tokenizer", "-t", help=TOKENIZER_HELP),
    fmt: str = FORMAT_OPT,
    bundle_: bool = BUNDLE_OPT,
    line_numbers: bool = LINE_NUMBERS_OPT,
    pdf_mode: str = PDF_MODE_OPT,
    pdf_dpi: float = PDF_DPI_OPT,
    password: str | None = PASSWORD_OPT,
    max_pages: int = MAX_PAGES_OPT,
    parse_timeout: float = PARSE_TIMEOUT_OPT,
    ocr: bool = OCR_OPT,
    sample: bool = typer.Option(False, "--sample", help="Count the bundled sample document."),
    per_page: bool = typer.Option(False, "--pages", help="Also list every page (JSON always does)."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table."),
) -> None:
    """Token accounting only: pages, text tokens, vision tokens and ρ, without drawing images."""
    cfg = _load_cfg(config, set_)
    vision_model(model)
    results = []
    how = _how(fmt, pdf_mode, pdf_dpi, password, max_pages, parse_timeout, line_numbers, ocr)
    outcomes = _Outcomes(inputs)
    specs = _inputs(inputs, sample, how, bundle_, outcomes)
    start_background(tokenizer)  # the tokenizer loads while this process reads and lays out
    for spec in specs:
        try:
            content, name = _document(spec, how)
            results.append(count(content, cfg, model=model, tokenizer=tokenizer, name=name,
                                 line_numbers=line_numbers))
        except GlyphpressError as e:
            if len(specs) <= 1:
                raise
            outcomes.failed(spec, e)
    if as_json:
        data = [dict(r.summary(), pages_detail=[
            {"page": p.index + 1, "width": p.width, "height": p.height, "source_range": list(p.source_range),
             "text_tokens": p.text_tokens, "vision_tokens": p.vision_tokens} for p in r.pages]) for r in results]
        out_console.print_json(json.dumps(data[0] if len(data) == 1 else data))
    else:
        out_console.print(_summary_table(results))
        if per_page:
            for r in results:
                t = Table(title=r.name, show_edge=False)
                for col in ("page", "size", "characters", "text tokens", "vision tokens", "ρ"):
                    t.add_column(col, justify="right")
                for p in r.pages:
                    a, b = p.source_range
                    t.add_row(str(p.index + 1), f"{p.width}x{p.height}", f"{b - a:,}", f"{p.text_tokens:,}",
                              f"{p.vision_tokens:,}", f"{(p.text_tokens or 0) / max(1, p.vision_tokens):.2f}")
                out_console.print(t)
    _warn_missing(results)
    outcomes.finish(len(results), "counted")


EXTRACT_SUFFIX = {"md": ".md", "text": ".txt", "json": ".json"}


@app.command("extract")
def extract_cmd(
    inputs: list[str] = typer.Argument(None, help=INPUTS_HELP, show_default=False),
    to: str = typer.Option("md", "--to", help="md (headings, lists, GFM tables, code fences, math as $…$), "
                           "text, or json (blocks with their kind, text, source range and, for PDFs, page)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="A file (one input) or a folder (one file per "
                                    "input); default: standard output."),
    fmt: str = FORMAT_OPT,
    password: str | None = PASSWORD_OPT,
    max_pages: int = MAX_PAGES_OPT,
    parse_timeout: float = PARSE_TIMEOUT_OPT,
) -> None:
    """The document model of each input as Markdown, plain text or JSON: what glyphpress reads from it."""
    from .document.export import to_json, to_markdown, to_text

    if to not in EXTRACT_SUFFIX:
        raise GlyphpressError(f"--to is md, text or json, not {to!r}")
    how = _how(fmt, "rerender", 72, password, max_pages, parse_timeout, False)
    outcomes = _Outcomes(inputs)
    specs = _sources(inputs or [], False)
    if out is not None and len(specs) > 1 and out.exists() and not out.is_dir():
        raise GlyphpressError(f"{out}: several inputs need a folder for --out, and this is a file")
    texts: list[tuple[str, str]] = []
    for spec in specs:
        try:
            content, name = _document(spec, how, warn=False)
            doc = _extracted(content, name)  # pages without text fail here: no warning about them first
        except GlyphpressError as e:
            if len(specs) <= 1:
                raise
            outcomes.failed(spec, e)
            continue
        _warn(content)
        if to == "json":
            texts.append((name, json.dumps(to_json(doc), ensure_ascii=False, indent=1) + "\n"))
        else:
            texts.append((name, to_markdown(doc) if to == "md" else to_text(doc)))
    if out is None:
        for name, text in texts:
            if len(texts) > 1:
                sys.stdout.write(f"\n==> {name} <==\n")
            sys.stdout.write(text)
    elif len(specs) == 1 and texts and not out.is_dir():
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(texts[0][1], encoding="utf-8")
    else:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in texts:
            (out / (_out_name(name) + EXTRACT_SUFFIX[to])).write_text(text, encoding="utf-8")
    outcomes.finish(len(texts), "extracted")


def _extracted(content, name: str) -> Document:
    """What ``extract`` writes of a loaded input: its Document (plain text as one, an image's as the text OCR
    read); pages without text (an image without OCR, a PDF without a text layer OCR found nothing on) are an
    error."""
    from .document import parse_text
    from .document.ocr import INSTALL_HINT, available

    if isinstance(content, str):
        return parse_text(content, name)
    if isinstance(content, (ImageDocument, RasterDocument)):
        doc = content.document if isinstance(content, ImageDocument) else None
        if doc is not None and doc.source.strip():
            return doc
        what = "an image" if isinstance(content, ImageDocument) else "a PDF without a text layer"
        if not available():
            raise InputError(f"{name}: {what} has no text to extract without OCR; {INSTALL_HINT}")
        raise InputError(f"{name}: {what}, and OCR found no text on it: nothing to extract")
    return content


@app.command("ask")
def ask_cmd(
    inputs: list[str] = typer.Argument(None, help=INPUTS_HELP + " Several inputs are asked about as one bundle.",
                                       show_default=False),
    question: str = typer.Option(None, "--question", "-q", help="The question (optional with --interactive)."),
    backend: str = typer.Option("openai", "--backend", "-b", help="openai (any OpenAI-compatible server: vLLM, "
                                "SGLang, LMDeploy, Ollama, llama.cpp, hosted) or transformers (a local model)."),
    model: str | None = typer.Option(None, "--model", "-m", help="Model name on the server, or hub id / folder "
                                     "for transformers. Default: zai-org/Glyph."),
    base_url: str | None = typer.Option(None, "--base-url", envvar="GLYPHPRESS_BASE_URL",
                                        help="The server's OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1."),
    api_key: str | None = typer.Option(None, "--api-key", envvar="GLYPHPRESS_API_KEY", help="Bearer token."),
    budget: int | None = typer.Option(None, "--budget", help="Vision tokens the pages may take (default: the "
                                      "model's context minus room for the question and answer)."),
    context: int | None = typer.Option(None, "--context", help="Context length of a model the registry lacks."),
    vision: str | None = typer.Option(None, "--vision-model", help="Vision geometry of a model the registry lacks."),
    baseline_url: str | None = typer.Option(None, "--baseline-url", help="Also ask a text-only LLM at this "
                                            "OpenAI-compatible URL, with the document as text."),
    baseline_model: str | None = typer.Option(None, "--baseline-model", help="The baseline's model name."),
    max_tokens: int = typer.Option(512, "--max-tokens", help="Longest answer, in tokens."),
    local_media: str | None = typer.Option(None, "--local-media", help="Send pages as file:// URLs saved in this "
                                           "folder instead of base64 (a local server allowed to read it)."),
    device: str = typer.Option("auto", "--device", help="transformers: auto, cuda, mps or cpu."),
    dtype: str = typer.Option("auto", "--dtype", help="transformers: auto, bfloat16, float16 or float32."),
    attn: str | None = typer.Option(None, "--attn", help="transformers: the attention kernel, sdpa (default), "
                                    "eager or flash_attention_2 (needs flash-attn)."),
    interactive: bool = typer.Option(False, "--interactive", "-i", help="Keep asking about the same pages."),
    notes: Path | None = typer.Option(None, "--notes", help="Write a Markdown note with questions, answers and "
                                      "the page images next to it."),
    config: str | None = typer.Option(None, "--config", "-c", help="Start from this θ instead of the model's "
                                      "preset (it is still made denser if the document does not fit)."),
    set_: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
    fmt: str = FORMAT_OPT,
    pdf_mode: str = PDF_MODE_OPT,
    password: str | None = PASSWORD_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per answer instead of streaming."),
    cross_check: bool = typer.Option(False, "--cross-check", help="List the statements on which the inputs (two "
                                     "or more) disagree, each side quoted and located in its own document."),
    topic: str | None = typer.Option(None, "--topic", help="With --cross-check: only disagreements about this."),
    compare: tuple[str, str] | None = typer.Option(None, "--compare", help="OLD NEW: ask about the changes "
                                                   "between two revisions of a document (its text diff, rendered "
                                                   "with removals and additions marked).", show_default=False),
) -> None:
    """Ask questions about documents through a VLM reading their rendered pages; the answer streams,
    then where it comes from (pages and lines), pages, text tokens, vision tokens, ρ and latency (and the
    text-only baseline beside it)."""
    import asyncio

    from .vlm.ask import Session, make_backend, write_notes
    from .vlm.base import Generation
    from .vlm.openai import OpenAIBackend
    from .vlm.registry import model_spec

    if cross_check and (interactive or question):
        raise GlyphpressError("--cross-check asks its own question: leave out -q and --interactive")
    if topic is not None and not cross_check:
        raise GlyphpressError("--topic goes with --cross-check")
    if not question and not interactive and not cross_check:
        raise GlyphpressError("give a question with -q, or --interactive")
    if max_tokens < 1:
        raise GlyphpressError("--max-tokens must be at least 1")
    spec = model_spec(model, context=context, vision=vision)
    how = _how(fmt, pdf_mode, 72, password, 2000, 120, False)
    if compare:
        if inputs:
            raise GlyphpressError("--compare OLD NEW takes the place of the inputs: give no other")
        from .evidence.revisions import compare as diff
        from .vlm.ask import rendered_source

        old, new = (_document(s, how)[0] for s in _sources(list(compare), False))
        changes = diff(rendered_source(old), rendered_source(new), Path(compare[0]).name, Path(compare[1]).name)
        content = changes.document
    else:
        specs = _sources(inputs or [], False)
        if len(specs) == 1:
            content, _ = _document(specs[0], how)
        else:
            content = _bundle(specs, how, _Outcomes(inputs))
    if cross_check and len(getattr(content, "parts", None) or []) < 2:
        raise GlyphpressError("--cross-check needs two documents or more")
    base_cfg = _load_cfg(config, set_) if (config or set_) else None
    be = make_backend(backend, spec.name, base_url, api_key, device=device, dtype=dtype, local_media=local_media,
                      attn=attn)
    baseline = OpenAIBackend(baseline_url, baseline_model or spec.name, api_key=api_key) if baseline_url else None
    loop = asyncio.new_event_loop()
    session = Session(content, be, spec, budget=budget, config=base_cfg, baseline=baseline,
                      gen=Generation(max_tokens=max_tokens, stop=spec.stop))
    results = []
    try:
        if cross_check:
            from .evidence.crosscheck import cross_check as check

            r, found = loop.run_until_complete(check(session, topic))
            results.append(r)
            _print_disagreements(r, found, as_json)
        else:
            _ask_loop(loop, session, question, interactive, as_json, results)
    finally:
        loop.run_until_complete(session.aclose())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    if notes is not None and results:
        path = write_notes(notes, results, session)
        print(f"notes: {path}", file=sys.stderr)


def _ask_loop(loop, session, question: str | None, interactive: bool, as_json: bool, results: list) -> None:
    """Ask ``question``, or questions read from stdin with ``interactive``, printing each answer."""
    while True:
        if not question:
            print("question> ", end="", file=sys.stderr, flush=True)
            line = sys.stdin.readline()
            if not line or line.strip().lower() in ("", "exit", "quit"):
                break
            question = line.strip()
        on_text = None if as_json else (lambda t: print(t, end="", flush=True))
        r = loop.run_until_complete(session.ask_async(question, on_text))
        results.append(r)
        if as_json:
            out_console.print_json(json.dumps(r.summary()))
        else:
            print()
            _print_ask_summary(r)
        question = None
        if not interactive:
            break


def _print_disagreements(r, found, as_json: bool) -> None:
    if as_json:
        out_console.print_json(json.dumps(dict(r.summary(), disagreements=[d.to_dict() for d in found])))
        return
    if not found:
        print("No disagreement found.")
    for i, d in enumerate(found, 1):
        print(f"{i}. {d.topic or '(no topic given)'}")
        for side in d.sides:
            where = " ".join(c.label() for c in side.citations) or "[not found word for word in the document]"
            print(f"   {side.document}: “{' '.join(side.says.split())}” {where}")
    _print_ask_summary(r, citations=False)


def _print_ask_summary(r, citations: bool = True) -> None:
    for c in r.citations if citations else ():  # where the answer comes from: under the answer, on stdout
        snippet = " ".join(c.snippet.split())
        print(f"{c.label()} {snippet[:157] + '…' if len(snippet) > 160 else snippet}")
    s = r.summary()
    reported, predicted = s["prompt_tokens_reported"], s["prompt_tokens_predicted"]
    check = "" if reported is None else f", engine counted {reported:,} prompt tokens (predicted {predicted:,})"
    print(f"[{s['model']}: {s['pages']} pages ({s['theta_step']}), {s['text_tokens']:,} text tokens as "
          f"{s['vision_tokens']:,} vision tokens, ρ {s['compression_ratio']}, {s['latency_s']} s{check}]",
          file=sys.stderr)
    if r.baseline is not None:
        b = r.baseline
        text_prompt = b.usage.prompt_tokens or b.prompt_tokens_predicted
        saved = 1 - (reported or predicted) / max(1, text_prompt)
        print(f"\n--- text-only baseline ({b.model}) ---\n{b.answer.strip()}", file=sys.stderr)
        print(f"[{text_prompt:,} prompt tokens, {b.latency_s:.2f} s; the visual route saved {100 * saved:.0f}% of "
              "the prompt]", file=sys.stderr)
    elif r.baseline_error:
        print(f"[baseline failed: {r.baseline_error}]", file=sys.stderr)


def serve_cmd(**values) -> None:
    """Start the web app and HTTP API (OpenAPI schema at /docs and /openapi.json). Every flag has an
    environment variable: GLYPHPRESS_ and the flag's name (--max-pages: GLYPHPRESS_MAX_PAGES)."""
    from .serve.app import create_app
    from .serve.listen import check_port, serve
    from .serve.settings import Settings

    settings = Settings(**values)
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not settings.token:
        print(f"warning: listening on {settings.host} without --token: anyone who can reach this port can use it",
              file=sys.stderr)
    check_port(settings)
    app_ = create_app(settings)
    print(f"glyphpress {__version__}: http://{settings.host}:{settings.port}/ "
          f"(data in {Path(settings.data_dir).resolve()})", file=sys.stderr)
    serve(app_, settings)


def _settings_options() -> inspect.Signature:
    """serve's parameters: one option per server setting, with its environment variable."""
    from .serve import settings as st

    params = []
    for f in st.options():
        t = st.kind(f)
        params.append(inspect.Parameter(
            f.name, inspect.Parameter.KEYWORD_ONLY, annotation=t | None if f.default is None else t,
            default=typer.Option(f.default, st.flag(f), envvar=st.env_name(f), help=f.metadata["help"])))
    return inspect.Signature(params, return_annotation=None)


serve_cmd.__signature__ = _settings_options()
app.command("serve")(serve_cmd)


@config_app.command("show")
def config_show(
    name: str = typer.Argument("glyph-en", help=CONFIG_HELP),
    set_: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
) -> None:
    """Print a preset or config file as JSON with the published keys (plus extensions)."""
    out_console.print_json(json.dumps(_load_cfg(name, set_).to_dict()))


@config_app.command("list")
def config_list() -> None:
    """List the presets."""
    for name, values in PRESETS.items():
        changes = ", ".join(f"{k}={v}" for k, v in values.items())
        out_console.print(f"{name}: {changes}", markup=False, highlight=False)


@config_app.command("validate")
def config_validate(file: Path = typer.Argument(..., help="A JSON config file.")) -> None:
    """Check a config file: every key known, every value in range, the font file present."""
    from .layout.fonts import resolve_font

    cfg = load_config(str(file))
    if cfg.font_path:
        resolve_font(cfg.font_path)
    extra = [k for k in cfg.to_dict() if k not in PUBLISHED_KEYS]
    out_console.print(f"ok: {file} is a valid configuration ({len(PUBLISHED_KEYS)} published keys, "
                      f"{len(extra)} extensions)", markup=False, highlight=False)


@app.command("models")
def models_cmd() -> None:
    """List the vision models whose token geometry is known."""
    t = Table(box=None, pad_edge=False)  # fits 80 columns
    for col in ("name", "patch", "merge", "min px", "max px", "extra", "hub ids"):
        t.add_column(col)
    for m in VISION_MODELS.values():
        limit = f"{m.max_pixels:,}" if m.max_pixels < 2**40 else "none"
        t.add_row(m.name, str(m.patch_size), str(m.merge_size), f"{m.min_pixels:,}", limit,
                  str(m.special_tokens), "\n".join(m.hub_ids) or "-")  # one hub id a line
    out_console.print(t)


def _version(value: bool) -> None:
    if value:
        out_console.print(f"glyphpress {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    pass


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except GlyphpressError as e:
        print_error(str(e))
        sys.exit(2)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        err_console.print("interrupted", markup=False)
        sys.exit(130)
    except typer.TyperException as e:  # a bad flag or value: one line (help asked for by no arguments is printed)
        message = e.format_message() if hasattr(e, "format_message") else str(e)
        if message:
            print_error(f"{message} (see --help)")
        sys.exit(getattr(e, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)
