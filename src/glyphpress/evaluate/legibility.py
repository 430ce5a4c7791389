"""Legibility: read rendered pages back with OCR and measure the character error rate (CER).

The OCR engine is RapidOCR with the PP-OCR models its PyPI package ships (``pip install
'glyphpress[ocr]'``), so the measurement runs offline.

How a page is read matters as much as the page. Read naively (a fixed 2x upscale, RapidOCR's default
limits), a page is enlarged and then shrunk again to 2000 pixels on its long side, so a 96-dpi page reads
worse than a 72-dpi one, and RapidOCR's angle classifier turns some upright lines upside down.
``reading_for(θ)`` calibrates the protocol instead: the upscale brings the θ font size to ``FONT_PX``
pixels, the engine never shrinks a page before reading it, and lines are read as drawn (upright).
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..errors import GlyphpressError

_WS = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Compare text as read: every run of whitespace is one space (line breaks are layout)."""
    return _WS.sub(" ", text).strip()


def cer(hypothesis: str, reference: str) -> float:
    """Levenshtein distance / reference length, on whitespace-normalised text."""
    from rapidfuzz.distance import Levenshtein

    ref, hyp = normalize(reference), normalize(hypothesis)
    return Levenshtein.distance(hyp, ref) / max(1, len(ref))


FONT_PX = 24  # the font size, in pixels, a calibrated reading brings the text to
NEVER_SHRINK = 1 << 20  # RapidOCR's limit on a page's long side, when a reading must not shrink pages


@dataclass(frozen=True)
class Reading:
    """An OCR reading protocol: the Lanczos upscale before reading, the long side (pixels) above which
    RapidOCR shrinks a page (its default 2000, or ``NEVER_SHRINK``), and whether its angle classifier may
    turn lines it believes upside down."""

    upscale: float = 2.0
    max_side: int = 2000
    angle: bool = True

    def describe(self) -> dict:
        return {"engine": "RapidOCR (PP-OCR)", "upscale": round(self.upscale, 3),
                "shrinks_above_px": None if self.max_side >= NEVER_SHRINK else self.max_side,
                "angle_classifier": self.angle}


NAIVE = Reading()


def reading_for(config) -> Reading:
    """The calibrated protocol for pages rendered with θ ``config``: the font brought to ``FONT_PX`` pixels
    (never reduced), nothing shrunk."""
    font_px = config.px(config.font_size)
    return Reading(upscale=max(1.0, FONT_PX / font_px), max_side=NEVER_SHRINK, angle=False)


@functools.lru_cache(maxsize=2)
def _engine(max_side: int = NAIVE.max_side):
    try:
        from rapidocr import RapidOCR
    except ImportError:
        raise GlyphpressError("OCR needs RapidOCR: pip install 'glyphpress[ocr]'") from None
    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    return RapidOCR(params={"Global.max_side_len": max_side}) if max_side != NAIVE.max_side else RapidOCR()


def ocr(image: Image.Image, upscale: float = 2.0, reading: Reading | None = None) -> str:
    """Text of a page image, lines top to bottom, read with ``reading`` (default: the naive protocol with
    ``upscale``)."""
    reading = reading or Reading(upscale, NAIVE.max_side)
    img = image.convert("RGB")
    if reading.upscale != 1:
        img = img.resize((round(img.width * reading.upscale), round(img.height * reading.upscale)),
                         Image.Resampling.LANCZOS)
    out = _engine(reading.max_side)(np.asarray(img), use_cls=reading.angle)
    if out.txts is None:
        return ""
    boxes = np.asarray(out.boxes)
    order = np.lexsort((boxes[:, 0, 0], np.round(boxes[:, 0, 1] / 8)))  # rows, then left to right
    return "\n".join(out.txts[i] for i in order)


@dataclass
class PageScore:
    page: int
    characters: int
    cer: float


def page_scores(text: str, rendered, pages: int | None = None, upscale: float = 2.0) -> list[PageScore]:
    """CER of each of the first ``pages`` pages of a ``Rendered`` (with images) against its source text."""
    out = []
    for p in rendered.pages[:pages]:
        if p.image is None:
            raise GlyphpressError("page images are needed: render in memory, not count")
        a, b = p.source_range
        out.append(PageScore(p.index + 1, b - a, cer(ocr(p.image, upscale), text[a:b])))
    return out
