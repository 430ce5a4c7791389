"""Showing evidence: the part of a page image a citation covers (for notes and reports)."""

from __future__ import annotations

from PIL import Image

from .locate import Citation


def crop(c: Citation, rendered, pad: int = 6, page: int | None = None) -> Image.Image | None:
    """The cited lines on one page (its first by default) cut from the page image, ``pad`` pixels to their left
    and right (none above and below: the next line starts there); None where the page has no image or the
    citation no line box there."""
    page = page or c.pages[0]
    boxes = [b for p, *b in c.boxes if p == page]
    if not boxes or not 0 < page <= len(rendered.pages) or rendered.pages[page - 1].image is None:
        return None
    img = rendered.pages[page - 1].image
    x0 = max(0, int(min(b[0] for b in boxes)) - pad)
    y0 = max(0, int(min(b[1] for b in boxes)))
    x1 = min(img.width, int(max(b[2] for b in boxes)) + pad + 1)
    y1 = min(img.height, int(max(b[3] for b in boxes)) + 1)
    return img.crop((x0, y0, x1, y1))
