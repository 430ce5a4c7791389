"""Asking questions about a document through a VLM, with a text-only baseline beside it.

A ``Session`` renders the document once (θ chosen to fit the model's context) and answers any
number of questions about the same pages; ``ask``/``ask_async`` are one-question conveniences.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path

from ..config import RenderConfig
from ..errors import GlyphpressError
from ..tokens.text import count_tokens, text_tokenizer
from .base import Backend, Generation, Request, Usage
from .budget import BudgetError, Plan, plan
from .registry import ModelSpec, model_spec

PROMPT_OVERHEAD = 16  # chat-template tokens around the user turn, roughly


@dataclass
class RouteResult:
    answer: str
    usage: Usage
    latency_s: float
    first_token_s: float | None
    model: str
    prompt_tokens_predicted: int


@dataclass
class AskResult:
    question: str
    visual: RouteResult
    pages: int
    text_tokens: int
    vision_tokens: int
    config: RenderConfig
    plan_step: str
    baseline: RouteResult | None = None
    baseline_error: str | None = None
    citations: list = field(default_factory=list)  # evidence.Citation: where the answer's passages are

    @property
    def ratio(self) -> float:
        return self.text_tokens / max(1, self.vision_tokens)

    def summary(self) -> dict:
        v = self.visual
        out = {"question": self.question, "answer": v.answer, "model": v.model, "pages": self.pages,
               "text_tokens": self.text_tokens, "vision_tokens": self.vision_tokens,
               "compression_ratio": round(self.ratio, 3), "theta_step": self.plan_step,
               "prompt_tokens_predicted": v.prompt_tokens_predicted, "prompt_tokens_reported": v.usage.prompt_tokens,
               "completion_tokens": v.usage.completion_tokens, "latency_s": round(v.latency_s, 3),
               "first_token_s": None if v.first_token_s is None else round(v.first_token_s, 3)}
        if self.baseline is not None:
            b = self.baseline
            out["baseline"] = {"answer": b.answer, "model": b.model, "prompt_tokens_reported": b.usage.prompt_tokens,
                               "prompt_tokens_predicted": b.prompt_tokens_predicted, "latency_s": round(b.latency_s, 3)}
        if self.baseline_error:
            out["baseline_error"] = self.baseline_error
        out["citations"] = [c.to_dict() for c in self.citations]
        return out


async def run_route(backend: Backend, request: Request, predicted: int,
               on_text: Callable[[str], None] | None) -> RouteResult:
    """Ask one backend, streaming pieces to ``on_text``; an empty answer is an error."""
    t0 = time.perf_counter()
    first = None
    parts: list[str] = []
    usage = Usage()
    async with aclosing(backend.stream(request)) as pieces:
        async for piece in pieces:
            if piece.text:
                if first is None:
                    first = time.perf_counter() - t0
                parts.append(piece.text)
                if on_text:
                    on_text(piece.text)
            if piece.usage is not None:
                usage = piece.usage
    answer = "".join(parts)
    if not answer.strip():
        from .openai import EmptyAnswer

        raise EmptyAnswer(f"{backend.name}: the model returned an empty answer")
    return RouteResult(answer, usage, time.perf_counter() - t0, first, backend.model, predicted)


class Session:
    """One document, rendered once for one model, asked any number of questions."""

    def __init__(self, content, backend: Backend, spec: ModelSpec | None = None, *, budget: int | None = None,
                 reserve: int = 1024, config: RenderConfig | None = None, baseline: Backend | None = None,
                 gen: Generation | None = None, tokenizer: str | None = None):
        from ..pipeline import render

        self.spec = spec or model_spec(backend.model)
        self.backend = backend
        self.baseline = baseline
        self.gen = gen or Generation(stop=self.spec.stop)
        self.tok = text_tokenizer(tokenizer)
        p: Plan = plan(content, self.spec, budget, reserve + self.gen.max_tokens, base=config)
        rendered = render(content, p.config, model=self.spec.geometry, tokenizer=tokenizer)
        if rendered.vision_tokens > p.budget and p.denser:  # a prefix estimate was short: one denser step
            name, cfg = p.denser[0]
            rendered = render(content, cfg, model=self.spec.geometry, tokenizer=tokenizer)
            p.step, p.config = name, cfg
        if rendered.vision_tokens > p.budget:
            raise BudgetError(f"the pages take {rendered.vision_tokens:,} vision tokens, over the budget of "
                              f"{p.budget:,}")
        self.plan = p
        self.rendered = rendered
        self.source = rendered_source(content)

    @property
    def images(self):
        return [pg.image for pg in self.rendered.pages]

    async def ask_async(self, question: str, on_text: Callable[[str], None] | None = None,
                        with_baseline: bool = True) -> AskResult:
        if not question.strip():
            raise GlyphpressError("the question is empty")
        q_tokens = count_tokens(self.tok, question)
        visual_req = Request(question, images=self.images, gen=self.gen, pages_first=self.spec.pages_first)
        predicted = self.rendered.vision_tokens + q_tokens + PROMPT_OVERHEAD
        tasks = [run_route(self.backend, visual_req, predicted, on_text)]
        if self.baseline is not None and with_baseline:
            text_req = Request(question, text=self.source, gen=Generation(self.gen.max_tokens, self.gen.temperature))
            predicted_text = (self.rendered.text_tokens or 0) + q_tokens + PROMPT_OVERHEAD
            tasks.append(run_route(self.baseline, text_req, predicted_text, None))
        results = await asyncio.gather(*tasks, return_exceptions=True)
        visual = results[0]
        if isinstance(visual, BaseException):
            raise visual
        base, base_err = None, None
        if len(results) > 1:
            if isinstance(results[1], BaseException):
                base_err = str(results[1])
            else:
                base = results[1]
        r = self.rendered
        from ..evidence import locate

        cites = await asyncio.to_thread(locate, visual.answer, r)
        return AskResult(question, visual, len(r.pages), r.text_tokens or 0, r.vision_tokens, self.plan.config,
                         self.plan.step, base, base_err, cites)

    async def aclose(self) -> None:
        await self.backend.aclose()
        if self.baseline is not None:
            await self.baseline.aclose()


def rendered_source(content) -> str:
    """The document as text, for the text-only route: plain text, Markdown and code as they are; any other
    document (HTML, DOCX, EPUB, PDF, images, bundles) as the Markdown ``glyphpress extract`` writes of it (an
    image's: the text OCR read); a raster PDF as its text layer."""
    from ..document.export import to_markdown
    from ..document.model import Document
    from ..io import normalize_newlines

    if isinstance(content, str):
        return normalize_newlines(content)
    doc = content if isinstance(content, Document) else getattr(content, "document", None)
    if doc is not None and doc.format not in ("markdown", "text", "code"):
        return to_markdown(doc)
    return content.source


def make_backend(kind: str, model: str, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = 300.0, device: str = "auto", dtype: str = "auto",
                 local_media: str | None = None, attn: str | None = None) -> Backend:
    if kind == "openai":
        if not base_url:
            raise GlyphpressError("the openai backend needs --base-url (for example http://127.0.0.1:8000/v1)")
        from .openai import OpenAIBackend

        return OpenAIBackend(base_url, model, api_key=api_key, timeout=timeout, local_media=local_media)
    if kind == "transformers":
        from .local import TransformersBackend

        return TransformersBackend(model, device=device, dtype=dtype, attn=attn)
    raise GlyphpressError(f"unknown backend {kind!r}; use openai or transformers")


async def ask_async(content, question: str, *, backend: str | Backend = "openai", model: str | None = None,
                    base_url: str | None = None, api_key: str | None = None, budget: int | None = None,
                    context: int | None = None, baseline_url: str | None = None, baseline_model: str | None = None,
                    max_tokens: int = 512, on_text: Callable[[str], None] | None = None,
                    config: RenderConfig | None = None) -> AskResult:
    """Render ``content`` to fit the model, ask ``question``; optionally the text-only baseline beside it."""
    spec = model_spec(model if model else (backend.model if not isinstance(backend, str) else None), context=context)
    be = make_backend(backend, spec.name, base_url, api_key) if isinstance(backend, str) else backend
    base = None
    if baseline_url:
        from .openai import OpenAIBackend

        base = OpenAIBackend(baseline_url, baseline_model or spec.name, api_key=api_key)
    session = Session(content, be, spec, budget=budget, config=config, baseline=base,
                      gen=Generation(max_tokens=max_tokens, stop=spec.stop))
    try:
        return await session.ask_async(question, on_text)
    finally:
        await session.aclose()


def ask(content, question: str, **kwargs) -> AskResult:
    """``ask_async`` for code without an event loop (scripts, the CLI)."""
    return asyncio.run(ask_async(content, question, **kwargs))


def write_notes(path: str | Path, results: list[AskResult], session: Session) -> Path:
    """A Markdown note: each question, its answer with the passages it rests on (each citation with a crop of
    its lines from the page), the baseline's answer, the figures, and the page images."""
    from ..evidence.show import crop

    path = Path(path)
    pages_dir = path.with_name(path.stem + "_pages")
    pages_dir.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(session.images):
        img.save(pages_dir / f"page_{i + 1:04d}.png")
    lines = [f"# Questions about {session.rendered.name}", ""]
    for k, r in enumerate(results, 1):
        s = r.summary()
        lines += [f"## {r.question}", "", r.visual.answer, ""]
        if r.citations:
            lines += ["**Where it comes from:**", ""]
        for j, c in enumerate(r.citations, 1):
            snippet = " ".join(c.snippet.split())
            lines += [f"- {c.label()} ({c.kind}): > {snippet}"]
            region = crop(c, session.rendered)
            if region is not None:
                name = f"q{k:02d}_cite{j}.png"
                region.save(pages_dir / name)
                lines += ["", f"  ![{c.label()}]({pages_dir.name}/{name})", ""]
        lines += ["", f"*{s['model']}: {s['pages']} pages, {s['vision_tokens']:,} vision tokens for "
                  f"{s['text_tokens']:,} text tokens (ρ {s['compression_ratio']}), {s['latency_s']} s*", ""]
        if r.baseline is not None:
            lines += ["**Text-only baseline** "
                      f"({r.baseline.model}, {r.baseline.usage.prompt_tokens or r.baseline.prompt_tokens_predicted:,} "
                      f"prompt tokens, {r.baseline.latency_s:.2f} s):", "", r.baseline.answer, ""]
    lines += ["## Pages", ""]
    lines += [f"![page {i + 1}]({pages_dir.name}/page_{i + 1:04d}.png)" for i in range(len(session.images))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


__all__ = ["Session", "AskResult", "RouteResult", "ask", "ask_async", "make_backend", "run_route", "write_notes"]
