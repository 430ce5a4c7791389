"""Page labels: "p. 12" (with a bundle part's short name) drawn small in a page's bottom margin, at its right
edge, in a colour between the text's and the page's, so a VLM can name the page it read. The label goes into
the white the page already has below its last line: the image keeps its size, so it costs no vision token."""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..config import RenderConfig

MAX_PX = 9  # the label's font size, at most, in pixels
MIN_PX = 5  # below this a label is not drawn (a page whose text reaches its bottom edge)


@functools.lru_cache(maxsize=16)
def _font(size: int, cjk: bool = False) -> ImageFont.FreeTypeFont:
    from ..layout.fonts import bundled_fonts

    fonts = bundled_fonts()
    return ImageFont.truetype(fonts["Noto Sans CJK"] if cjk and "Noto Sans CJK" in fonts else fonts["DejaVu Sans"],
                              size)


def label_text(page: int, part: str | None = None) -> str:
    """``p. 12``, or ``contract.md · p. 12`` in a bundle (a long name shortened to 24 characters)."""
    if part:
        short = part if len(part) <= 24 else part[:11] + "…" + part[-12:]
        return f"{short} · p. {page}"
    return f"p. {page}"


def draw_label(img: Image.Image, text: str, cfg: RenderConfig) -> Image.Image:
    """``img`` with ``text`` in the blank rows below its last ink (the image is not grown)."""
    gray = np.asarray(img.convert("L"), dtype=np.int16)
    bg = int(np.median(gray[:, :2])) if gray.shape[1] >= 2 else 255
    ink_rows = np.nonzero((np.abs(gray - bg) > 24).any(axis=1))[0]
    blank = img.height - (int(ink_rows[-1]) + 1 if len(ink_rows) else 0)
    size = min(MAX_PX, blank - 2)
    if size < MIN_PX:
        return img
    font = _font(size, any(ord(ch) >= 0x2E80 and ch not in "·…" for ch in text))  # a CJK name: a CJK font
    left, top, right, bottom = font.getbbox(text)
    x = max(1, img.width - (right - left) - max(2, size // 2))
    y = img.height - (blank + (bottom - top)) // 2 - top
    out = img.copy()
    colour = _between(cfg.font_color, cfg.page_bg_color)
    if out.mode == "L":
        colour = round(0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2])
    ImageDraw.Draw(out).text((x, y), text, font=font, fill=colour)
    return out


def _between(a: str, b: str) -> tuple[int, int, int]:
    from PIL import ImageColor

    ca, cb = ImageColor.getrgb(a)[:3], ImageColor.getrgb(b)[:3]  # any colour θ accepts: names, #RGB, rgb()
    return tuple(round(0.45 * x + 0.55 * y) for x, y in zip(ca, cb))
