"""One long plain text on several cores: this process lays the text out once, in ranges of
``RANGE_PAGES`` pages, and hands ranges to kept worker processes (``pool``) that draw them.

While each worker has a range queued, this process draws the next range itself; when the layout is done,
it takes back the ranges no worker has claimed (``Pool.take_back``) and draws them too. A worker that
answers nothing for ``DEADLINE`` seconds while it has work ends the render with one clear error (its
pool is stopped; a later render starts new workers), as does a worker that dies or fails.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Callable, Iterable
from multiprocessing import connection as mp_connection
from pathlib import Path
from typing import TYPE_CHECKING

from .. import manifest
from ..config import RenderConfig
from ..errors import GlyphpressError
from ..layout.model import PageLayout
from ..pagefiles import PageWriter
from ..result import Page
from ..tokens.vision import VisionModel
from . import pool as pools
from .pool import shutdown_workers
from .transport import pack, receive_pages

if TYPE_CHECKING:
    from ..pipeline import Renderer

RANGE_PAGES = 8  # pages per range handed to a worker
DEADLINE = 120.0  # seconds a worker with work may stay silent
Progress = Callable[[int], None]

_SEQ = itertools.count()


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def render_pages(r: Renderer, text: str, vm: VisionModel, jobs: int, out_dir: Path | None,
                 progress: Progress | None = None, missing: Counter | None = None) -> list[Page]:
    """The pages of ``text`` drawn by this process and ``jobs - 1`` workers; written to ``out_dir`` if given,
    else held in memory. If anything fails, the workers are stopped (a later render starts new ones)."""
    with pools.LOCK:
        p = pools.pool(max(1, jobs - 1))
        try:
            return _Share(p, r, vm, out_dir, progress).run(text, missing)
        except BaseException:
            pools.discard(p)
            raise


class _Share:
    def __init__(self, p: pools.Pool, r: Renderer, vm: VisionModel, out_dir: Path | None,
                 progress: Progress | None):
        self.pool, self.r, self.vm, self.out_dir, self.progress = p, r, vm, out_dir, progress
        self.cfg: RenderConfig = r.config
        self.pages: dict[int, Page] = {}
        self.finished: set[int] = set()
        self.out: dict[int, tuple[list[Page], list[PageLayout]]] = {}  # ranges offered, not yet answered
        self.queued = 0  # pages offered and not yet answered

    def run(self, text: str, missing: Counter | None) -> list[Page]:
        batch: list[tuple[Page, PageLayout]] = []
        with PageWriter(self.out_dir or Path("."), self.cfg) as self.writer:
            for page, lay in self.r.pages(text, self.vm, draw=False, sized=False, missing=missing):
                self.pages[page.index] = page
                if self.out_dir is not None:
                    page.file = manifest.page_filename(page.index, self.cfg.image_format)
                batch.append((page, lay))
                if len(batch) == RANGE_PAGES:
                    self._hand_out(batch)
                    batch = []
            if batch:
                self._hand_out(batch)
            for seq in list(self.out):  # the layout is done: ranges no worker has claimed are drawn here
                if self.pool.take_back(seq):
                    batch_pages, layouts = self.out.pop(seq)
                    self.queued -= len(batch_pages)
                    self._draw_here(zip(batch_pages, layouts))
            while self.out:
                self._collect(block=True)
        if len(self.finished) != len(self.pages):
            raise GlyphpressError(f"render workers drew {len(self.finished)} of {len(self.pages)} pages")
        return [self.pages[i] for i in sorted(self.pages)]

    def _hand_out(self, batch: list[tuple[Page, PageLayout]]) -> None:
        self._collect(block=False)
        if self.queued >= 2 * RANGE_PAGES * len(self.pool.procs):  # each worker has a range queued: draw here
            self._draw_here(batch)
            return
        seq = next(_SEQ)
        self.out[seq] = ([p for p, _ in batch], [lay for _, lay in batch])
        self.queued += len(batch)
        self.pool.offer(seq, (self.cfg, [pack(lay, self.r.engine) for _, lay in batch],
                              str(self.out_dir) if self.out_dir else None))

    def _draw_here(self, batch: Iterable[tuple[Page, PageLayout]]) -> None:
        for page, lay in batch:
            page.image = self.r.raster.draw(lay)
            page.set_size(*page.image.size, self.vm)
            if self.out_dir is not None:
                self.writer.put(page)
            self._done(page.index)

    def _done(self, index: int) -> None:
        self.finished.add(index)
        if self.progress:
            self.progress(len(self.finished))

    def _collect(self, block: bool) -> None:
        """Take in what workers have finished; with ``block``, wait for at least one answer."""
        while self.out:
            ready = mp_connection.wait(self.pool.conns, timeout=DEADLINE if block else 0)
            if not ready:
                if block:
                    raise GlyphpressError(f"a render worker did not answer for {DEADLINE:g} s; "
                                          "the workers were stopped")
                return
            for conn in ready:
                try:
                    kind, seq, items = conn.recv()
                    if kind == "shared":
                        items = receive_pages(conn, items)
                except (EOFError, OSError):  # its end of the pipe closed: the process is gone
                    raise GlyphpressError("a render worker died unexpectedly") from None
                if kind == "error":
                    raise GlyphpressError(items)
                if seq not in self.out:
                    raise GlyphpressError("a render worker answered for a range it was not given")
                batch_pages, _ = self.out.pop(seq)
                self.queued -= len(batch_pages)
                for index, got in items:  # the image, or (written to a file) its size
                    page = self.pages[index]
                    if self.out_dir is None:
                        page.image = got
                    page.set_size(*(got if self.out_dir is not None else got.size), self.vm)
                    self._done(index)
            block = False


__all__ = ["render_pages", "shutdown_workers", "default_jobs", "RANGE_PAGES", "DEADLINE"]
