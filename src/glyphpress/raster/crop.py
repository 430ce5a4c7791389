"""The published renderer's last steps on a page image: horizontal scale, then auto-crop to the ink.

As the published pipeline does after poppler: the width is scaled to ``int(width * scale)`` (bicubic,
Pillow's default); then the background is the median of the top-left 2x2 grey pixels, ink is every
pixel differing from it by more than 5, the width is cropped to the rightmost ink column + 1 +
``margin-x`` and the last page's height to the lowest ink row + ``margin-y`` (the margins' point values
taken as pixels, whatever the dpi). A side is never cropped below ``MIN_SIDE`` pixels, which VLM image
processors need (the published renderer would make such a page, which no model can read).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..config import RenderConfig

TOLERANCE = 5
MIN_SIDE = 32


def published_crop(img: np.ndarray | Image.Image, cfg: RenderConfig, last: bool) -> np.ndarray | Image.Image:
    """``img`` (an ``L`` array or an image) scaled and cropped as the published renderer does."""
    if cfg.horizontal_scale != 1.0:
        im = img if isinstance(img, Image.Image) else Image.fromarray(img)
        img = im.resize((int(im.width * cfg.horizontal_scale), im.height), Image.Resampling.BICUBIC)
    crop_w, crop_h = cfg.auto_crop_width, cfg.auto_crop_last_page and last
    if not (crop_w or crop_h):
        return img
    gray = img if isinstance(img, np.ndarray) else np.asarray(img.convert("L"))
    h, w = gray.shape
    right, lower = ink_extent(gray, crop_w, crop_h)
    right = min(w, max(MIN_SIDE, round(right + cfg.margin_x))) if crop_w and right is not None else w
    lower = min(h, max(MIN_SIDE, round(lower + cfg.margin_y))) if crop_h and lower is not None else h
    if (right, lower) == (w, h):
        return img
    if isinstance(img, np.ndarray):
        return np.ascontiguousarray(img[:lower, :right])
    return img.crop((0, 0, right, lower))


def ink_extent(gray: np.ndarray, width: bool = True, height: bool = True) -> tuple[int | None, int | None]:
    """(rightmost ink column + 1, lowest ink row) of a grey page, None where there is no ink."""
    bg = float(np.median(gray[:2, :2]))

    def inked(axis: int) -> np.ndarray:  # lines holding a pixel further than the tolerance from bg
        return np.flatnonzero((gray.max(axis=axis) > bg + TOLERANCE) | (gray.min(axis=axis) < bg - TOLERANCE))

    right = lower = None
    if width:
        cols = inked(0)
        right = int(cols[-1]) + 1 if len(cols) else None
    if height:
        rows = inked(1)
        lower = int(rows[-1]) if len(rows) else None
    return right, lower
