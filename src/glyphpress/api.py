"""The library API: render text into pages (in memory or to a folder) with full accounting."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import mmap
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing import connection as mp_connection
from multiprocessing import reduction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from . import __version__, manifest
from .config import RenderConfig, load_config
from .document.flatten import to_flow
from .document.model import Document
from .document.pdf import RasterDocument
from .errors import GlyphpressError
from .io import check_text, normalize_newlines
from .layout.engine import LayoutEngine
from .layout.flow import Flow
from .layout.model import PageLayout
from .raster.draw import Rasterizer
from .raster.encode import encode_image
from .tokens.text import TextTokenizer, count_tokens, text_tokenizer
from .tokens.vision import VisionModel, vision_model

Progress = Callable[[int], None]  # called with the number of pages finished so far
PARALLEL_MIN_CHARS = 200_000  # below this, starting processes costs more than it saves


@dataclass
class Page:
    index: int  # 0-based
    width: int
    height: int
    source_range: tuple[int, int]  # [start, end) in the (newline-normalised) text
    vision_tokens: int  # positions in the VLM sequence, image wrapper tokens included
    image_tokens: int  # the image's placeholder tokens alone
    text_tokens: int | None = None  # tokens of this page's text on its own
    image: Image.Image | None = None
    file: str | None = None


@dataclass
class Rendered:
    config: RenderConfig
    model: VisionModel
    tokenizer: str | None
    text_tokens: int | None
    characters: int
    pages: list[Page]
    timings: dict[str, float] = field(default_factory=dict)
    name: str = "text"
    sha256: str = ""
    format: str = "text"
    documents: list[dict[str, Any]] = field(default_factory=list)  # the parts of a bundle

    @property
    def vision_tokens(self) -> int:
        return sum(p.vision_tokens for p in self.pages)

    @property
    def ratio(self) -> float | None:
        """ρ = text tokens / vision tokens."""
        return None if self.text_tokens is None else self.text_tokens / max(1, self.vision_tokens)

    def manifest(self) -> dict[str, Any]:
        m = self.model
        return {
            "schema": manifest.SCHEMA, "version": manifest.VERSION,
            "created_by": f"glyphpress {__version__}",
            "source": {"name": self.name, "format": self.format, "characters": self.characters,
                       "sha256": self.sha256},
            **({"documents": self.documents} if self.documents else {}),
            "theta": self.config.to_dict(),
            "pages": [{"file": p.file, "width": p.width, "height": p.height,
                       "source_range": list(p.source_range), "text_tokens": p.text_tokens,
                       "vision_tokens": p.vision_tokens, "image_tokens": p.image_tokens}
                      for p in self.pages],
            "totals": {"pages": len(self.pages), "characters": self.characters,
                       "text_tokens": self.text_tokens, "vision_tokens": self.vision_tokens,
                       "compression_ratio": None if self.ratio is None else round(self.ratio, 4),
                       "tokenizer": self.tokenizer,
                       "vision_model": {"name": m.name, "patch_size": m.patch_size,
                                        "merge_size": m.merge_size, "min_pixels": m.min_pixels,
                                        "max_pixels": m.max_pixels,
                                        "special_tokens_per_image": m.special_tokens}},
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "pages": len(self.pages), "characters": self.characters,
                "text_tokens": self.text_tokens, "vision_tokens": self.vision_tokens,
                "compression_ratio": None if self.ratio is None else round(self.ratio, 3),
                "tokenizer": self.tokenizer, "vision_model": self.model.name}


def _config(config: RenderConfig | str | None) -> RenderConfig:
    return config if isinstance(config, RenderConfig) else load_config(config)


class Renderer:
    """One θ's fonts, layout and atlas, reusable across documents (keep one per process)."""

    def __init__(self, config: RenderConfig | str | None = None):
        self.config = _config(config)
        self.engine = LayoutEngine(self.config)
        self.raster = Rasterizer(self.engine)

    def layouts(self, text: str | Flow) -> Iterator[PageLayout]:
        return self.engine.pages(text)

    def pages(self, text: str | Flow, model: VisionModel, draw: bool = True) -> Iterator[tuple[Page, PageLayout]]:
        """Pages in order, with their layouts; ``draw=False`` gives sizes and tokens without pixels.

        A styled ``Flow`` is laid out in display characters; page ranges are given in source characters.
        """
        flow = text if isinstance(text, Flow) else None
        for lay in self.layouts(text):
            a, b = lay.source_range
            if flow is not None:
                a = 0 if lay.index == 0 else flow.to_source(a)
                b = flow.to_source(b) if not lay.last else flow.to_source(len(flow.text))
            size = self.raster.size(lay)
            image = self.raster.draw(lay) if draw or size is None else None
            w, h = image.size if image is not None else size
            page = Page(lay.index, w, h, (a, b), model.tokens(w, h), model.image_tokens(w, h))
            page.image = image if draw else None
            yield page, lay


_LOCAL = threading.local()


def renderer_for(cfg: RenderConfig) -> Renderer:
    """A warm Renderer for θ, kept for the next call in this thread (fonts, tables and atlas stay
    loaded). Renderers are not thread-safe, so each thread keeps its own."""
    cache: dict[RenderConfig, Renderer] = getattr(_LOCAL, "renderers", None) or {}
    _LOCAL.renderers = cache
    r = cache.get(cfg)
    if r is None:
        if len(cache) >= 4:
            cache.pop(next(iter(cache)))
        r = cache[cfg] = Renderer(cfg)
    return r


Content = str | Document | RasterDocument


def _prepare(content: Content, cfg: RenderConfig,
             line_numbers: bool = False) -> tuple[str, str | Flow | RasterDocument, str, list[tuple[str, int, int]]]:
    """(source text, what the engine lays out, format, bundle parts) for plain text or a Document."""
    if isinstance(content, RasterDocument):
        return content.source, content, content.format, []
    if isinstance(content, Document):
        check_text(content.source, content.name)
        return content.source, to_flow(content, cfg, line_numbers), content.format, content.parts
    if not isinstance(content, str):
        raise GlyphpressError(f"text must be a str or a Document, got {type(content).__name__}")
    text = normalize_newlines(content)
    check_text(text)
    return text, text, "text", []


def _iter_pages(flow: str | Flow | RasterDocument, cfg: RenderConfig, vm: VisionModel,
                draw: bool = True, renderer: Renderer | None = None) -> Iterator[Page]:
    if isinstance(flow, RasterDocument):  # pages exist already: nothing to lay out
        for i, (img, rng) in enumerate(zip(flow.images, flow.page_ranges)):
            w, h = img.size
            yield Page(i, w, h, rng, vm.tokens(w, h), vm.image_tokens(w, h), image=img if draw else None)
        return
    for page, _ in (renderer or renderer_for(cfg)).pages(flow, vm, draw=draw):
        yield page


def _account(text: str, pages: list[Page], tok: TextTokenizer | None) -> int | None:
    """Tokens of each page's text on its own, and of the whole text (counted exactly, in chunks)."""
    if tok is None:
        return None
    for p in pages:
        p.text_tokens = len(tok.encode(text[p.source_range[0]: p.source_range[1]]))
    return count_tokens(tok, text)


def _finish(text, cfg, model, tok, pages, timings, name, fmt="text", parts=None) -> Rendered:
    t = time.perf_counter()
    total = _account(text, pages, tok)
    timings["tokenize_s"] = time.perf_counter() - t
    documents = []
    for doc_name, a, b in parts or []:  # which pages each part of a bundle is on
        on = [p.index + 1 for p in pages if p.source_range[0] < max(b, a + 1) and p.source_range[1] > a]
        documents.append({"name": doc_name, "source_range": [a, b], "pages": [on[0], on[-1]] if on else []})
    return Rendered(cfg, model, tok.name if tok else None, total, len(text), pages, timings, name,
                    hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), fmt, documents)


def render(text: Content, config: RenderConfig | str | None = None, *,
           model: str | VisionModel | None = None, tokenizer: str | None = None, count_text: bool = True,
           jobs: int = 1, renderer: Renderer | None = None, name: str | None = None,
           line_numbers: bool = False) -> Rendered:
    """Render text (or a structured Document) into page images held in memory (nothing touches the disk).

    ``jobs > 1`` shares a long plain text (200K characters or more) among that many processes; the
    worker processes are kept for later renders (``shutdown_workers()`` stops them)."""
    cfg = renderer.config if renderer else _config(config)
    text, flow, fmt, parts = _prepare(text, cfg, line_numbers)
    vm = vision_model(model)
    tok = text_tokenizer(tokenizer) if count_text else None
    t0 = time.perf_counter()
    if jobs > 1 and isinstance(flow, str) and len(text) >= PARALLEL_MIN_CHARS:
        pages = _parallel(text, cfg, vm, jobs, out_dir=None)
    else:
        pages = list(_iter_pages(flow, cfg, vm, renderer=renderer))
    timings = {"render_s": time.perf_counter() - t0}
    return _finish(text, cfg, vm, tok, pages, timings, name or "text", fmt=fmt, parts=parts)


def count(text: Content, config: RenderConfig | str | None = None, *,
          model: str | VisionModel | None = None, tokenizer: str | None = None, name: str | None = None,
          line_numbers: bool = False) -> Rendered:
    """Accounting only: layout decides the pages and their sizes; no pixels are drawn."""
    cfg = _config(config)
    text, flow, fmt, parts = _prepare(text, cfg, line_numbers)
    vm = vision_model(model)
    tok = text_tokenizer(tokenizer)
    t0 = time.perf_counter()
    pages = list(_iter_pages(flow, cfg, vm, draw=False))
    return _finish(text, cfg, vm, tok, pages, {"layout_s": time.perf_counter() - t0}, name or "text", fmt=fmt,
                   parts=parts)


def render_to_dir(text: Content, out_dir: str | Path, config: RenderConfig | str | None = None, *,
                  model: str | VisionModel | None = None, tokenizer: str | None = None,
                  count_text: bool = True, jobs: int = 1, name: str | None = None,
                  progress: Progress | None = None, line_numbers: bool = False) -> Rendered:
    """Render to ``out_dir/page_0001.png ...`` plus ``manifest.json``; pages stream to disk.

    The manifest is written last and atomically; the old one is removed first.
    """
    cfg = _config(config)
    text, flow, fmt, parts = _prepare(text, cfg, line_numbers)
    vm = vision_model(model)
    tok = text_tokenizer(tokenizer) if count_text else None
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise GlyphpressError(f"{out}: exists and is not a folder")
    try:
        manifest.begin(out)
    except OSError as e:
        raise GlyphpressError(f"{out}: cannot write ({e.strerror})") from None
    t0 = time.perf_counter()
    if jobs > 1 and isinstance(flow, str) and len(text) >= PARALLEL_MIN_CHARS:
        pages = _parallel(text, cfg, vm, jobs, out_dir=out, progress=progress)
    else:
        pages = []
        with _PageWriter(out, cfg) as writer:
            for page in _iter_pages(flow, cfg, vm):
                writer.put(page)
                pages.append(page)
                if progress:
                    progress(len(pages))
    timings = {"render_write_s": time.perf_counter() - t0}
    result = _finish(text, cfg, vm, tok, pages, timings, name or "text", fmt=fmt, parts=parts)
    result.timings["total_s"] = time.perf_counter() - t0
    manifest.finish(out, result.manifest())
    return result


class _PageWriter:
    """Encodes and writes pages on background threads (deflate and file I/O release the GIL), so drawing
    the next page overlaps writing the last ones; at most ``depth`` pages wait, errors surface in put/close."""

    def __init__(self, out: Path, cfg: RenderConfig, threads: int = 2, depth: int = 8):
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        self.out, self.cfg, self.depth = out, cfg, depth
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="glyphpress-write")
        self.pending: deque = deque()

    def put(self, page: Page) -> None:
        self.pending.append(self.pool.submit(_save_page, self.out, page, self.cfg))
        while len(self.pending) > self.depth:
            self.pending.popleft().result()

    def __enter__(self) -> _PageWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        try:
            while self.pending:
                future = self.pending.popleft()
                if exc_type is None:
                    future.result()
                else:
                    future.cancel()
        finally:
            self.pool.shutdown(wait=True)


def _save_page(out: Path, page: Page, cfg: RenderConfig) -> None:
    assert page.image is not None
    page.file = manifest.page_filename(page.index, cfg.image_format)
    try:
        manifest.write_page(out, page.file, encode_image(page.image, cfg))
    except OSError as e:
        raise GlyphpressError(f"{out}: cannot write page ({e.strerror})") from None
    page.image = None


# ---- several processes for one document ---------------------------------------------------
RANGE_PAGES = 8  # pages per task handed to a worker
_SHARE_PIXELS = hasattr(os, "memfd_create") and reduction.HAVE_SEND_HANDLE  # Linux: pages stay where drawn


def _serve(tasks, conn) -> None:
    """A worker of the pool: draws ranges of laid-out pages, for as long as the pool lives.

    Its pages go back over ``conn``: as files written (a folder), as memory the parent maps (Linux),
    or pickled (elsewhere)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    parent = os.getppid()
    while True:
        try:
            task = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:  # the parent is gone (killed): nobody will ask again
                return
            continue
        job, cfg, layouts, out_dir = task
        memory = _MemoryFile() if _SHARE_PIXELS and out_dir is None else None
        try:
            r = renderer_for(cfg)
            done = []  # (page index, what the parent needs to know of it)
            with _PageWriter(Path(out_dir or "."), cfg, threads=1, depth=4) as writer:
                for lay in layouts:
                    pixels = r.raster.pixels(_unpack(lay, r.engine))
                    if memory is not None:
                        done.append((lay.index, memory.add(pixels)))
                        continue
                    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
                    if out_dir is not None:  # the parent keeps the page records; only pixels matter here
                        writer.put(Page(lay.index, *image.size, lay.source_range, 0, 0, image=image))
                        image = None
                    done.append((lay.index, image))
            # the files are complete now; or a descriptor of the range's memory follows the message
            conn.send(("shared" if memory is not None else "pages", job, done))
            if memory is not None:
                reduction.send_handle(conn, memory.fd, os.getppid())
        except BaseException as e:  # reported to the parent, which raises it
            conn.send(("error", job, str(e) if isinstance(e, GlyphpressError) else f"{type(e).__name__}: {e}"))
        finally:
            if memory is not None:
                os.close(memory.fd)


def _pack(lay: PageLayout, engine: LayoutEngine) -> PageLayout:
    """A page layout to send to a worker: glyph ids as keys any process understands, narrow types."""
    return dataclasses.replace(lay, gid=engine.glyphs.portable(lay.gid).astype(np.int32),
                               gline=lay.gline.astype(np.min_scalar_type(len(lay.line_base))))


def _unpack(lay: PageLayout, engine: LayoutEngine) -> PageLayout:
    return dataclasses.replace(lay, gid=engine.glyphs.own(lay.gid), gline=lay.gline.astype(np.int64))


class _MemoryFile:
    """A range's pages, one after another in a new memory file whose descriptor goes to the parent:
    nothing is copied there, and the memory lives as long as the parent's images."""

    def __init__(self):
        self.fd = os.memfd_create("glyphpress-pages", os.MFD_CLOEXEC)
        self.size = 0

    def add(self, pixels: np.ndarray | Image.Image) -> tuple[str, tuple[int, int], int, int]:
        """Append a page; returns its mode, size, and where its bytes are in the file."""
        if isinstance(pixels, np.ndarray):
            mode, size, data = "L", (pixels.shape[1], pixels.shape[0]), memoryview(pixels).cast("B")
        else:
            mode, size, data = pixels.mode, pixels.size, memoryview(pixels.tobytes())
        offset, n = self.size, len(data)
        while data:
            data = data[os.write(self.fd, data):]
        self.size += n
        return mode, size, offset, n


def _receive_pages(conn, pages: list[tuple[int, Any]]) -> list[tuple[int, Image.Image]]:
    """The images of a range's pages, from the memory file whose descriptor follows the message."""
    fd = reduction.recv_handle(conn)
    try:
        mem = memoryview(mmap.mmap(fd, 0, prot=mmap.PROT_READ))
    finally:
        os.close(fd)
    out = []
    for index, (mode, size, offset, n) in pages:
        out.append((index, Image.frombuffer(mode, size, mem[offset: offset + n], "raw", mode, 0, 1)))
    return out  # "L" images map the memory; others are copies


class _Pool:
    """Worker processes started once and kept for later renders (no start-up per render, and their
    renderers stay warm). Tasks go through one queue, so whoever is free takes the next range."""

    def __init__(self, size: int):
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self.pid = os.getpid()
        self.tasks = ctx.Queue()
        self.conns, self.procs = [], []
        for _ in range(size):
            here, there = ctx.Pipe()
            p = ctx.Process(target=_serve, args=(self.tasks, there), daemon=True, name="glyphpress-render")
            p.start()
            there.close()
            self.conns.append(here)
            self.procs.append(p)

    def usable(self, size: int) -> bool:
        return self.pid == os.getpid() and len(self.procs) == size and all(p.is_alive() for p in self.procs)

    def close(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.join()
        for c in self.conns:
            c.close()
        self.tasks.close()
        self.tasks.cancel_join_thread()


_POOL: _Pool | None = None
_POOL_LOCK = threading.Lock()  # one parallel render at a time uses the pool


def _pool(size: int) -> _Pool:
    global _POOL
    if _POOL is None or not _POOL.usable(size):
        if _POOL is not None and _POOL.pid == os.getpid():
            _POOL.close()
        _POOL = _Pool(size)
    return _POOL


def shutdown_workers() -> None:
    """Stop the worker processes kept for parallel renders (they also stop when Python exits)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None and _POOL.pid == os.getpid():
            _POOL.close()
        _POOL = None


def _parallel(text: str, cfg: RenderConfig, vm: VisionModel, jobs: int, out_dir: Path | None,
              progress: Progress | None = None) -> list[Page]:
    """This process lays the text out once, in ranges of ``RANGE_PAGES`` pages. While each of the
    ``jobs - 1`` workers has a range queued it draws the next range itself; otherwise it sends the
    range's layouts to whichever worker is free. When the layout is done, ranges no worker has started
    come back here. If anything fails, the workers are stopped (a later render starts new ones)."""
    global _POOL
    r = renderer_for(cfg)  # before the workers start, so that they inherit it warm
    with _POOL_LOCK:
        pool = _pool(max(1, jobs - 1))
        try:
            return _share(pool, r, text, cfg, vm, out_dir, progress)
        except BaseException:
            _POOL = None
            pool.close()
            raise


_JOBS = itertools.count()


def _share(pool: _Pool, r: Renderer, text: str, cfg: RenderConfig, vm: VisionModel, out_dir: Path | None,
           progress: Progress | None) -> list[Page]:
    job = next(_JOBS)
    n_workers = len(pool.procs)
    pages: dict[int, Page] = {}
    finished: set[int] = set()
    sent = back = 0  # pages handed to workers, pages they finished

    def collect(block: bool) -> None:
        nonlocal back
        while back < sent:
            ready = mp_connection.wait(pool.conns, timeout=5 if block else 0)
            if not ready and not block:
                return
            for conn in ready:
                try:
                    kind, their_job, items = conn.recv()
                    if kind == "shared":
                        items = _receive_pages(conn, items)
                except (EOFError, OSError):  # its end of the pipe closed: the process is gone
                    raise GlyphpressError("a render worker died unexpectedly") from None
                if kind == "error":
                    raise GlyphpressError(items)
                if their_job != job:
                    raise GlyphpressError("a render worker answered for another render")
                for index, image in items:
                    if out_dir is None:
                        pages[index].image = image
                    finished.add(index)
                back += len(items)
                if progress:
                    progress(len(finished))

    def draw_here(batch: Iterable[tuple[Page, PageLayout]]) -> None:
        for page, lay in batch:
            page.image = r.raster.draw(lay)
            if out_dir is not None:
                writer.put(page)
            finished.add(page.index)
            if progress:
                progress(len(finished))

    def hand_out(batch: list[tuple[Page, PageLayout]]) -> None:
        nonlocal sent
        collect(block=False)
        if sent - back >= 2 * RANGE_PAGES * n_workers:  # each worker has a range queued: draw here
            draw_here(batch)
            return
        layouts = [_pack(lay, r.engine) for _, lay in batch]
        pool.tasks.put((job, cfg, layouts, str(out_dir) if out_dir else None))
        sent += len(batch)

    batch: list[tuple[Page, PageLayout]] = []
    with _PageWriter(out_dir or Path("."), cfg) as writer:
        for page, lay in r.pages(text, vm, draw=False):
            pages[page.index] = page
            if out_dir is not None:
                page.file = manifest.page_filename(page.index, cfg.image_format)
            batch.append((page, lay))
            if len(batch) == RANGE_PAGES:
                hand_out(batch)
                batch = []
        if batch:
            hand_out(batch)
        while True:  # the layout is done: take back ranges no worker has started, and draw them here
            try:
                _, _, layouts, _ = pool.tasks.get(timeout=0.001)
            except queue.Empty:
                break
            sent -= len(layouts)
            draw_here((pages[lay.index], _unpack(lay, r.engine)) for lay in layouts)
        collect(block=True)
    if len(finished) != len(pages):
        raise GlyphpressError(f"render workers drew {len(finished)} of {len(pages)} pages")
    return [pages[i] for i in sorted(pages)]


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
