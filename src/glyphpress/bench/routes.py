"""How one sample reaches a reader, route by route; the same sample goes through each.

- ``visual``: the context rendered with θ (only the context: the instruction before it and the question
  after it stay text), the pages sent to a VLM between them. When the model's context is known and the
  pages would not fit, ask's budget fitting picks a denser θ (recorded with the result).
- ``text``: the whole prompt as text. When the model's context is known and the prompt would not fit, the
  context is cut in the middle, as LongBench's ``pred.py`` does (recorded in ``info``).
- ``ocr``: the pages read by RapidOCR with the protocol calibrated for θ (``evaluate.legibility.reading_for``),
  the transcript put in place of the context and sent to a text LLM. Without an LLM the transcript is the
  prediction, for tasks whose answers stand verbatim in the context: then only the lines holding the
  answers are read (a crop of each page around them), which answers "is the needle still legible after
  rendering?" at a fraction of the cost of reading every page.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from ..config import RenderConfig
from ..errors import GlyphpressError
from ..tokens.text import count_tokens
from ..tokens.vision import VisionModel
from ..vlm.ask import PROMPT_OVERHEAD, run_route
from ..vlm.base import Backend, Generation, Request
from ..vlm.openai import EmptyAnswer
from ..vlm.registry import ModelSpec
from .caches import Answers, PageSet, Renders, digest, theta_hash
from .task import Sample

ROUTES = ("visual", "text", "ocr")


@dataclass
class Engine:
    """A reader: a backend and what is known of its model."""

    backend: Backend
    spec: ModelSpec
    where: str  # the server's URL or "transformers"
    context: int | None = None  # the model's context in tokens, when known (budget fitting, truncation)


@dataclass
class Outcome:
    prediction: str
    theta: RenderConfig | None = None
    text_tokens: int | None = None
    context_tokens: int | None = None
    vision_tokens: int | None = None
    pages: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    first_token_s: float | None = None
    cached: bool = False
    info: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.vision_tokens is None or self.context_tokens is None:
            return None
        return self.context_tokens / max(1, self.vision_tokens)


@dataclass
class Tools:
    """What every route shares within a run."""

    tokenizer: object
    renders: Renders
    answers: Answers
    geometry: VisionModel  # the vision geometry that counts tokens when no VLM reads the pages


async def visual(sample: Sample, cfg: RenderConfig, engine: Engine, tools: Tools) -> Outcome:
    cfg, step = await asyncio.to_thread(_fitted, sample, cfg, engine, tools)
    pages = await asyncio.to_thread(tools.renders.get, sample.context, cfg, engine.spec.geometry)
    images = [pages.png(i) for i in range(pages.pages)]
    gen = Generation(max_tokens=sample.max_tokens, temperature=0.0, stop=engine.spec.stop)
    request = Request(sample.after.lstrip("\n"), images=images, gen=gen, preamble=sample.before.rstrip("\n") or None,
                      pages_first=engine.spec.pages_first)
    question_tokens = count_tokens(tools.tokenizer, sample.before + sample.after)
    out = await _answer(engine, request, "visual", tools, sum(pages.vision_tokens) + question_tokens)
    out.theta = cfg
    out.context_tokens = count_tokens(tools.tokenizer, sample.context)
    out.text_tokens = out.context_tokens + question_tokens
    out.vision_tokens, out.pages = sum(pages.vision_tokens), pages.pages
    if step:
        out.info["theta_step"] = step
    return out


def _fitted(sample: Sample, cfg: RenderConfig, engine: Engine, tools: Tools) -> tuple[RenderConfig, str | None]:
    """θ, or a denser one from ask's ladder when the pages would not fit the model's context."""
    if not engine.context:
        return cfg, None
    reserve = sample.max_tokens + count_tokens(tools.tokenizer, sample.before + sample.after) + PROMPT_OVERHEAD
    pages = tools.renders.get(sample.context, cfg, engine.spec.geometry)
    if sum(pages.vision_tokens) <= engine.context - reserve:
        return cfg, None
    from ..vlm.budget import plan

    spec = ModelSpec(engine.spec.name, engine.spec.vision, engine.spec.preset, engine.context, engine.spec.stop,
                     engine.spec.pages_first)
    p = plan(sample.context, spec, reserve=reserve, base=cfg)
    budget = engine.context - reserve
    if p.denser and sum(tools.renders.get(sample.context, p.config, engine.spec.geometry).vision_tokens) > budget:
        return p.denser[0][1], p.denser[0][0]  # a long text's estimate (from its beginning) was short: one step more
    return p.config, p.step


async def text(sample: Sample, engine: Engine, tools: Tools) -> Outcome:
    context, cut = _fit_text(sample, engine, tools)
    prompt = sample.before + context + sample.after
    gen = Generation(max_tokens=sample.max_tokens, temperature=0.0, stop=engine.spec.stop)
    n = count_tokens(tools.tokenizer, prompt)
    out = await _answer(engine, Request(prompt, gen=gen), "text", tools, n)
    out.text_tokens, out.context_tokens = n, count_tokens(tools.tokenizer, context)
    if cut:
        out.info["truncated_tokens"] = cut
    return out


def _fit_text(sample: Sample, engine: Engine, tools: Tools) -> tuple[str, int]:
    """The context, cut in the middle when the prompt would not fit the model's context (LongBench's rule)."""
    if not engine.context:
        return sample.context, 0
    room = engine.context - sample.max_tokens - PROMPT_OVERHEAD - count_tokens(tools.tokenizer,
                                                                               sample.before + sample.after)
    ids = tools.tokenizer.encode(sample.context)
    if len(ids) <= room:
        return sample.context, 0
    if room <= 0:
        raise GlyphpressError(f"{sample.task}: the instruction and room for a {sample.max_tokens}-token answer do "
                              f"not fit the model's context of {engine.context} tokens")
    half = room // 2
    decode = tools.tokenizer.decode
    return decode(ids[:half]) + decode(ids[len(ids) - (room - half):]), len(ids) - room


async def ocr(sample: Sample, cfg: RenderConfig, engine: Engine | None, tools: Tools, answers_only: bool) -> Outcome:
    from ..evaluate.legibility import reading_for

    pages = await asyncio.to_thread(tools.renders.get, sample.context, cfg, tools.geometry)
    reading = reading_for(cfg)
    spans = _answer_spans(sample)
    t0 = time.perf_counter()
    if answers_only:
        transcript, read = await asyncio.to_thread(_read_lines, pages, spans, cfg, reading)
    else:
        transcript, read = await asyncio.to_thread(_read_pages, pages, reading)
    info = {"ocr": reading.describe() | {"read": read}, "ocr_s": round(time.perf_counter() - t0, 3)}
    if engine is None:
        out = Outcome(transcript, latency_s=time.perf_counter() - t0)
        out.text_tokens = count_tokens(tools.tokenizer, sample.prompt())
    else:
        prompt = sample.before + transcript + sample.after
        gen = Generation(max_tokens=sample.max_tokens, temperature=0.0, stop=engine.spec.stop)
        n = count_tokens(tools.tokenizer, prompt)
        out = await _answer(engine, Request(prompt, gen=gen), "ocr", tools, n)
        out.text_tokens = n
        out.latency_s = (out.latency_s or 0) + info["ocr_s"]
    out.info.update(info)
    out.theta = cfg
    out.context_tokens = count_tokens(tools.tokenizer, sample.context)
    out.vision_tokens, out.pages = sum(pages.vision_tokens), pages.pages
    return out


def _answer_spans(sample: Sample) -> list[tuple[int, int]]:
    """Where the answers stand in the context: the needles that hold a reference (distractor needles of
    other keys are not read), else each reference's first occurrence."""
    needles = [(a, b) for a, b in sample.info.get("needles") or []
               if any(ref in sample.context[a:b] for ref in sample.references)]
    return needles or _reference_spans(sample)


def _reference_spans(sample: Sample) -> list[tuple[int, int]]:
    spans = []
    for ref in sample.references:
        at = sample.context.find(ref)
        if at >= 0:
            spans.append((at, at + len(ref)))
    if not spans:
        raise GlyphpressError(f"{sample.task}: the answers are not in the context verbatim; the ocr route needs "
                              "a text LLM for this task (--model and --base-url)")
    return spans


def _read_pages(pages: PageSet, reading) -> tuple[str, str]:
    from ..evaluate.legibility import ocr

    return "\n".join(ocr(pages.image(i), reading=reading) for i in range(pages.pages)), f"{pages.pages} pages"


def _read_lines(pages: PageSet, spans: list[tuple[int, int]], cfg: RenderConfig, reading) -> tuple[str, str]:
    """OCR of the bands of the pages around the lines that hold ``spans`` (a line above and below)."""
    from ..evaluate.legibility import ocr

    lh, fs = cfg.px(cfg.line_height), cfg.px(cfg.font_size)
    gap = max(0.0, lh - 1.05 * fs) / 2  # half the white between a line's descenders and the next one's capitals
    parts, lines = [], 0
    for i in pages.pages_with(spans):
        hit = pages.lines_with(i, spans)
        if not hit:
            continue
        img = pages.image(i)
        # whole lines only: from the top of the line above the first hit to the bottom of the line below the last
        top = max(0, int(min(b for _, _, b in hit) - lh - 0.8 * fs - gap))
        bottom = min(img.height, int(max(b for _, _, b in hit) + lh + 0.25 * fs + gap) + 1)
        parts.append(ocr(img.crop((0, top, img.width, bottom)), reading=reading))
        lines += len(hit)
    return "\n".join(parts), f"{lines} answer lines"


async def _answer(engine: Engine, request: Request, route: str, tools: Tools, predicted: int) -> Outcome:
    """The engine's answer, from the answer cache when the same deterministic request was answered before."""
    key = None
    if request.gen.temperature == 0:
        images = [digest(img) for img in request.images]  # PNG bytes
        key = digest(engine.where, engine.spec.name, route, request.preamble, request.question, images,
                     request.gen.max_tokens, request.gen.top_p, list(request.gen.stop), request.pages_first)
        hit = tools.answers.get(key)
        if hit is not None:
            answer, prompt_tokens, completion_tokens, latency = hit
            return Outcome(answer, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                           latency_s=latency, cached=True)
    t0 = time.perf_counter()
    try:
        r = await run_route(engine.backend, request, predicted + PROMPT_OVERHEAD, None)
    except EmptyAnswer:  # a model that says nothing has answered: scored as the empty string
        return Outcome("", latency_s=time.perf_counter() - t0, info={"empty_answer": True})
    if key is not None:
        tools.answers.put(key, r.answer, r.usage.prompt_tokens, r.usage.completion_tokens, r.latency_s)
    return Outcome(r.answer, prompt_tokens=r.usage.prompt_tokens, completion_tokens=r.usage.completion_tokens,
                   latency_s=r.latency_s, first_token_s=r.first_token_s)


__all__ = ["ROUTES", "Engine", "Outcome", "Tools", "visual", "text", "ocr", "theta_hash"]
