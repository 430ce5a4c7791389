"""Page images to files in a folder: encoded and written on background threads (ISA-L deflate and file
I/O release the GIL), so drawing the next page overlaps writing the last ones."""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import manifest
from .config import RenderConfig
from .errors import GlyphpressError
from .raster.encode import encode_image
from .result import Page

BUDGET = 48 << 20  # bytes of page images that may wait to be written (large raster pages: fewer of them)


class PageWriter:
    """At most ``depth`` pages, and beyond the first about ``BUDGET`` bytes of pixels, wait to be written;
    errors surface in ``put`` or when leaving the block."""

    def __init__(self, out: Path, cfg: RenderConfig, threads: int = 2, depth: int = 8):
        self.out, self.cfg, self.depth = out, cfg, depth
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="glyphpress-write")
        self.pending: deque = deque()  # (future, bytes of its image)
        self.waiting = 0  # bytes of the images pending

    def put(self, page: Page) -> None:
        size = _image_bytes(page)
        self.pending.append((self.pool.submit(save_page, self.out, page, self.cfg), size))
        self.waiting += size
        while len(self.pending) > self.depth or (len(self.pending) > 1 and self.waiting > BUDGET):
            future, size = self.pending.popleft()
            self.waiting -= size
            future.result()

    def __enter__(self) -> PageWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        try:
            while self.pending:
                future, _ = self.pending.popleft()
                if exc_type is None:
                    future.result()
                else:
                    future.cancel()
        finally:
            self.pool.shutdown(wait=True)


def _image_bytes(page: Page) -> int:
    img = page.image
    return img.width * img.height * len(img.getbands()) if img is not None else 0


def save_page(out: Path, page: Page, cfg: RenderConfig) -> None:
    """Write a page's image under its file name and let the image go."""
    assert page.image is not None
    page.file = manifest.page_filename(page.index, cfg.image_format)
    try:
        manifest.write_page(out, page.file, encode_image(page.image, cfg))
    except OSError as e:
        raise GlyphpressError(f"{out}: cannot write page ({e.strerror})") from None
    page.image = None
