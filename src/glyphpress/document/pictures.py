"""Pictures a document refers to: carried inside the file (DOCX, EPUB), or read from the document's own
folder only; with a pixel limit (decompression bombs), scaled to fit the text column."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image

from ..config import RenderConfig
from ..layout.flow import InlineObject

MAX_PICTURE_PIXELS = 40_000_000


def load_picture(ref: str | None, base: str | None, cfg: RenderConfig,
                 data: bytes | None = None) -> InlineObject | None:
    """The picture (``data``, its bytes from inside the file, or else ``ref`` in the folder ``base``) as an
    RGB object no wider than the column, or None (then its alt text is shown)."""
    if data is not None:
        source = io.BytesIO(data)
    else:
        if not ref or base is None or "://" in ref or ref.startswith(("data:", "/", "\\")):
            return None
        root = Path(base).resolve()
        source = (root / ref).resolve()
        if root not in source.parents or not source.is_file():
            return None  # only files inside the document's folder
    try:
        with Image.open(source) as im:
            if im.width * im.height > MAX_PICTURE_PIXELS:
                warnings.warn(f"{ref}: {im.width}x{im.height} pixels is over the limit; shown as its alt text",
                              stacklevel=2)
                return None
            im.draft("RGB", (im.width, im.height))
            img = im.convert("RGB")
    except (OSError, Image.DecompressionBombError, ValueError):
        return None
    col_w = cfg.px(cfg.column_width)
    max_h = cfg.px(cfg.page_size[1] - 2 * cfg.margin_y) * 0.9
    scale = min(1.0, col_w * 0.98 / img.width, max_h / img.height)
    if scale < 1:
        img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))), Image.Resampling.LANCZOS)
    return InlineObject(img, 0)
