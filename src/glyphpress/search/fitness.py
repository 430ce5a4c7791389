"""What a θ candidate is worth: its compression ρ from exact accounting for the target VLM, and the quality
of its pages, by one of three fitnesses: ``Compression`` (ρ alone, nothing drawn), ``Legibility`` (how well
RapidOCR reads pages spread over the document, with the calibrated reading protocol recorded) and
``TaskAccuracy`` (a bench task's metric on a validation set, through the offline ``ocr`` route or a VLM on the
``visual`` route); the objective that turns ρ and quality into one score, its bound from ρ alone, and the
Pareto front of (ρ, quality) that a search always keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import RenderConfig
from ..errors import GlyphpressError


@dataclass
class Evaluation:
    rho: float  # text tokens per vision token
    quality: float | None  # 0..1 (1 - character error rate for OCR); None where only ρ is measured
    pages: int
    text_tokens: int
    vision_tokens: int
    info: dict[str, Any] = field(default_factory=dict)


def spread(count: int, k: int) -> list[int]:
    """``k`` page indices spread evenly over ``count`` pages (all of them where there are fewer), the first
    and the last included."""
    if count <= k:
        return list(range(count))
    if k == 1:
        return [count // 2]
    return sorted({round(i * (count - 1) / (k - 1)) for i in range(k)})


class Compression:
    """ρ only, from counting: no page is drawn."""

    name = "compression"
    rated = False  # no quality

    def __init__(self, text: str, model: str | None = None):
        self.text, self.model = text, model

    def __call__(self, cfg: RenderConfig) -> Evaluation:
        from ..pipeline import count

        r = count(self.text, cfg, model=self.model)
        return Evaluation(r.ratio or 0.0, None, len(r.pages), r.text_tokens or 0, r.vision_tokens)

    def rho(self, cfg: RenderConfig) -> float:
        """ρ alone, from counting (what a search screens candidates by before reading their pages)."""
        from ..pipeline import count

        return count(self.text, cfg, model=self.model).ratio or 0.0


class Legibility(Compression):
    """ρ and how well RapidOCR reads ``pages`` pages spread over the document (the rest are counted, not
    read): quality is 1 - the character error rate over the characters of the pages read.

    Given a quality ``floor``, reading stops as soon as the errors already made exceed what the floor allows
    over all the chosen pages' characters: the candidate is under the floor whatever the other pages hold,
    so the outcome a search acts on is exact. Its quality is then that of the pages read (also under the
    floor), and ``info["stopped"]`` says after how many."""

    name = "ocr"
    rated = True
    stops_early = True  # takes a quality floor (a search passes its own)

    def __init__(self, text: str, model: str | None = None, pages: int = 8):
        self.text, self.model, self.pages = text, model, pages

    def __call__(self, cfg: RenderConfig, floor: float | None = None) -> Evaluation:
        from ..evaluate.legibility import cer, ocr, reading_for
        from ..pipeline import render

        r = render(self.text, cfg, model=self.model)
        reading = reading_for(cfg)
        chosen = spread(len(r.pages), self.pages)
        ranges = [r.pages[i].source_range for i in chosen]
        allowed = None if floor is None else (1 - floor) * sum(b - a for a, b in ranges)  # errors, at most
        errors = chars = 0.0
        per_page, info = {}, {}
        for n, (i, (a, b)) in enumerate(zip(chosen, ranges), 1):
            rate = cer(ocr(r.pages[i].image, reading=reading), self.text[a:b])
            per_page[i + 1] = round(rate, 4)
            errors += rate * (b - a)
            chars += b - a
            if allowed is not None and errors > allowed and n < len(chosen):
                info["stopped"] = f"under the quality floor after {n} of {len(chosen)} pages"
                break
        quality = 1 - errors / chars if chars else 0.0
        return Evaluation(r.ratio or 0.0, quality, len(r.pages), r.text_tokens or 0, r.vision_tokens,
                          {"pages_read": per_page, **info,
                           "reading": {"upscale": reading.upscale, "angle": reading.angle,
                                       "max_side": reading.max_side}})


class TaskAccuracy:
    """ρ and a bench task's mean score (``glyphpress.bench``: the task's own metric, 0..1 per sample) on a
    validation set built once (seeded) from ``task``'s samples at ``lengths``, with ``haystack`` (RULER: a
    user's text files, or essay or noise) or ``data`` (loaded benchmarks). Each candidate's pages go through
    ``route``: ``ocr`` without an endpoint reads the lines holding the answers (is the needle still legible?),
    ``ocr`` with one sends the transcript to ``model`` there, ``visual`` sends the pages to the VLM ``model`` at
    ``base_url``. ρ is the samples' context tokens over ``model``'s vision tokens. The endpoint is opened in
    the process that evaluates (a fitness travels to worker processes as settings, not as connections)."""

    name = "bench"
    rated = True

    def __init__(self, task: str, route: str = "ocr", model: str | None = None, base_url: str | None = None,
                 api_key: str | None = None, lengths: tuple[int, ...] = (4096,), n: int = 8, seed: int = 0,
                 haystack: str | None = None, data: str | None = None, backend: str = "openai"):
        from ..bench.task import get

        if route not in ("ocr", "visual"):
            raise GlyphpressError(f"a bench fitness reads pages: its route is ocr or visual, not {route!r}")
        if route == "visual" and not base_url and backend == "openai":
            raise GlyphpressError("the visual route needs a VLM to read the pages: give --model and --base-url")
        self.task = get(task)
        self.vision = _vision_name(model)
        self.route, self.model, self.base_url, self.api_key, self.backend = route, model, base_url, api_key, backend
        self.lengths, self.n, self.seed, self.haystack, self.data = tuple(lengths), n, seed, haystack, data
        self._samples = None
        self._tools = None
        self._engine = None

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("_samples", "_tools", "_engine")} | {
            "_samples": None, "_tools": None, "_engine": None}

    def samples(self) -> list:
        from ..bench.task import Options

        if self._samples is None:
            options = Options(data=Path(self.data) if self.data else None, haystack=self.haystack)
            lengths = self.lengths if self.task.generated else (None,)
            self._samples = [s for length in lengths for s in self.task.samples(self.n, length, self.seed, options)]
            if not self._samples:
                raise GlyphpressError(f"{self.task.name}: no samples to validate on")
        return self._samples

    def key(self) -> str:
        """What the validation set and its reader are, for the ledger: a changed set is a new fitness."""
        from ..bench.caches import digest

        h = digest(*[(s.id, s.before, s.context, s.after, list(s.references)) for s in self.samples()])[:12]
        reader = f"{self.route}:{self.model or '-'}@{self.base_url or 'rapidocr'}"
        return f"bench/{self.task.name}/{reader}/{h}"

    def _reader(self):
        from ..bench import routes
        from ..bench.caches import Answers, Renders
        from ..tokens.text import text_tokenizer
        from ..tokens.vision import vision_model

        if self._tools is None:
            if self.base_url or self.route == "visual":
                from ..vlm.ask import make_backend
                from ..vlm.registry import model_spec

                try:
                    spec = model_spec(self.model)
                except GlyphpressError:  # a name the server knows: read with the geometry asked for
                    spec = model_spec(self.model, context=1 << 24, vision=self.vision)
                be = make_backend(self.backend, spec.name, self.base_url, self.api_key)
                self._engine = routes.Engine(be, spec, self.base_url or self.backend, None)  # θ is read as given
            self._tools = routes.Tools(text_tokenizer(None), Renders(None), Answers(None), vision_model(self.vision))
        return self._tools, self._engine

    def __call__(self, cfg: RenderConfig) -> Evaluation:
        import asyncio

        from ..bench import routes

        samples = self.samples()
        tools, engine = self._reader()

        async def one(sample):
            try:
                if self.route == "visual":
                    out = await routes.visual(sample, cfg, engine, tools)
                else:
                    out = await routes.ocr(sample, cfg, engine, tools, answers_only=engine is None)
            except GlyphpressError as e:
                return None, str(e)
            return out, None

        async def everyone():
            return [await one(s) for s in samples]

        results = asyncio.run(everyone())
        errors = [e for _, e in results if e]
        if len(errors) == len(results):
            raise GlyphpressError(f"{self.task.name}: every sample failed ({errors[0]})")
        scores, context, vision, pages = [], 0, 0, 0
        for sample, (out, _) in zip(samples, results):
            if out is None:
                scores.append(0.0)  # an item the reader could not answer scores nothing
                continue
            scores.append(float(self.task.score(sample, out.prediction)))
            context += out.context_tokens or 0
            vision += out.vision_tokens or 0
            pages += out.pages or 0
        info = {"task": self.task.name, "route": self.route, "samples": len(samples), "errors": len(errors),
                "scores": [round(x, 4) for x in scores]}
        if errors:
            info["first_error"] = errors[0][:200]
        return Evaluation(context / max(1, vision), sum(scores) / len(scores), pages, context, vision, info)

    def rho(self, cfg: RenderConfig) -> float:
        from ..pipeline import count

        context = vision = 0
        for s in self.samples():
            r = count(s.context, cfg, model=self.vision)
            context += r.text_tokens or 0
            vision += r.vision_tokens
        return context / max(1, vision)


def _vision_name(model: str | None) -> str:
    """The vision geometry that counts a model's tokens: a geometry's name, or a registered model's."""
    from ..tokens.vision import vision_model
    from ..vlm.registry import model_spec

    try:
        return vision_model(model).name
    except GlyphpressError:
        return model_spec(model).vision


def objective(e: Evaluation, floor: float | None = None, weight: float | None = None) -> float:
    """One score, higher is better: ρ where there is no quality; ρ while quality stays at or above ``floor``
    (below it, a score below any that meets it); or ``weight`` x quality + (1 - weight) x ρ / (1 + ρ)."""
    if e.quality is None:
        return e.rho
    if weight is not None:
        return weight * e.quality + (1 - weight) * e.rho / (1 + e.rho)
    if floor is not None and e.quality < floor:
        return -1.0 + e.quality  # under the floor: only quality counts, and every such score is below 0
    return e.rho


def bound(rho: float, floor: float | None = None, weight: float | None = None) -> float:
    """The highest score a candidate of this ρ could get (with perfect quality)."""
    return objective(Evaluation(rho, 1.0, 0, 0, 0), floor, weight)


def pareto(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points (ρ, quality) that no other point matches or beats on both and beats on one; of
    equal points, the first."""
    order = sorted(range(len(points)), key=lambda i: (-points[i][0], -points[i][1], i))
    front: list[int] = []
    best = float("-inf")  # the best quality among points of higher or equal ρ so far
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return sorted(front)
