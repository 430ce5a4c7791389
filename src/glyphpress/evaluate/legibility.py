"""Legibility: read rendered pages back with OCR and measure the character error rate (CER).

The OCR engine is RapidOCR with the PP-OCR models its PyPI package ships (``pip install
'glyphpress[ocr]'``), so the measurement runs offline.
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


@functools.lru_cache(maxsize=1)
def _engine():
    try:
        from rapidocr import RapidOCR
    except ImportError:
        raise GlyphpressError("OCR needs RapidOCR: pip install 'glyphpress[ocr]'") from None
    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    return RapidOCR()


def ocr(image: Image.Image, upscale: float = 2.0) -> str:
    """Text of a page image, lines top to bottom, after an optional Lanczos upscale."""
    img = image.convert("RGB")
    if upscale != 1:
        img = img.resize((round(img.width * upscale), round(img.height * upscale)), Image.Resampling.LANCZOS)
    out = _engine()(np.asarray(img))
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
