"""What a θ candidate is worth: its compression ρ from exact accounting for the target VLM, and the quality
of its pages (for now: how well RapidOCR reads them, pages spread over the document, with the calibrated
reading protocol recorded); the objective that turns the two into one score; and the Pareto front of
(ρ, quality) that a search always keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import RenderConfig


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

    def __init__(self, text: str, model: str | None = None):
        self.text, self.model = text, model

    def __call__(self, cfg: RenderConfig) -> Evaluation:
        from ..pipeline import count

        r = count(self.text, cfg, model=self.model)
        return Evaluation(r.ratio or 0.0, None, len(r.pages), r.text_tokens or 0, r.vision_tokens)


class Legibility:
    """ρ and how well RapidOCR reads ``pages`` pages spread over the document (the rest are counted, not
    read): quality is 1 - the character error rate over the characters of the pages read."""

    name = "ocr"

    def __init__(self, text: str, model: str | None = None, pages: int = 8):
        self.text, self.model, self.pages = text, model, pages

    def __call__(self, cfg: RenderConfig) -> Evaluation:
        from ..evaluate.legibility import cer, ocr, reading_for
        from ..pipeline import render

        r = render(self.text, cfg, model=self.model)
        reading = reading_for(cfg)
        chosen = spread(len(r.pages), self.pages)
        errors = chars = 0.0
        per_page = {}
        for i in chosen:
            page = r.pages[i]
            a, b = page.source_range
            rate = cer(ocr(page.image, reading=reading), self.text[a:b])
            per_page[i + 1] = round(rate, 4)
            errors += rate * (b - a)
            chars += b - a
        quality = 1 - errors / chars if chars else 0.0
        return Evaluation(r.ratio or 0.0, quality, len(r.pages), r.text_tokens or 0, r.vision_tokens,
                          {"pages_read": per_page, "reading": {"upscale": reading.upscale, "angle": reading.angle,
                                                               "max_side": reading.max_side}})


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
