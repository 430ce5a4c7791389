"""The stages wired together: content -> layout -> raster -> accounting -> pages in memory or on disk."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

from . import manifest
from .config import RenderConfig, load_config
from .content import Content
from .errors import GlyphpressError
from .layout.engine import LayoutEngine
from .layout.flow import Flow
from .layout.model import PageLayout
from .pagefiles import PageWriter
from .raster.draw import Rasterizer
from .result import Page, Rendered
from .tokens.counting import Accounting, accounting
from .tokens.vision import VisionModel, vision_model

if TYPE_CHECKING:
    from .document.images import ImageDocument
    from .document.model import Document
    from .document.pdf import RasterDocument

Progress = Callable[[int], None]  # called with the number of pages finished so far
PARALLEL_MIN_CHARS = 200_000  # below this, handing pages to other processes costs more than it saves
Input = Union[str, "Document", "RasterDocument", "ImageDocument", Content]


def _config(config: RenderConfig | str | None) -> RenderConfig:
    return config if isinstance(config, RenderConfig) else load_config(config)


class Renderer:
    """One θ's fonts, layout and atlas, reusable across documents (keep one per thread)."""

    def __init__(self, config: RenderConfig | str | None = None):
        self.config = _config(config)
        self.engine = LayoutEngine(self.config)
        self.raster = Rasterizer(self.engine)

    def pages(self, text: str | Flow, model: VisionModel, draw: bool = True, sized: bool = True,
              missing: Counter | None = None) -> Iterator[tuple[Page, PageLayout]]:
        """Pages in order, with their layouts. ``draw=False`` gives sizes and tokens without pixels, unless
        only pixels tell the size (the published layout crops to its ink): then a page is drawn for its
        size, or, with ``sized=False``, left at 0x0 for whoever draws it to fill in (``Page.set_size``).

        A styled ``Flow`` is laid out in display characters; page ranges are given in source characters.
        ``missing`` counts the characters drawn that no font has.
        """
        flow = text if isinstance(text, Flow) else None
        doc = self.engine.document(text)
        for lay in doc.pages():
            a, b = lay.source_range
            if flow is not None:
                a = 0 if lay.index == 0 else flow.to_source(a)
                b = flow.to_source(b) if not lay.last else flow.to_source(len(flow.text))
            size = self.raster.size(lay)
            image = self.raster.draw(lay) if draw or (size is None and sized) else None
            page = Page(lay.index, 0, 0, (a, b), 0, 0)
            if image is not None or size is not None:
                page.set_size(*(image.size if image is not None else size), model)
            known = (page.width, page.height) if page.width else (  # drawn elsewhere: the size before cropping
                round(lay.size[0] * self.config.horizontal_scale), lay.size[1])
            page.lines = self.lines(lay, flow, known)
            page.image = image if draw else None
            yield page, lay
        if missing is not None:
            missing.update(doc.missing)


    def lines(self, lay: PageLayout, flow: Flow | None, size: tuple[int, int]) -> np.ndarray:
        """Where a page's lines are: one row per line, (source start, source end, x0, y0, x1, y1), the box in
        the final image's pixels (after horizontal scale; cropping keeps the top-left corner), from the
        line's column to the end of its text and from an ascender's height above the baseline to a
        descender's depth below it."""
        n = len(lay.line_start)
        out = np.zeros((n, 6), dtype=np.float64)
        if not n:
            return out
        starts, ends = lay.line_start.astype(np.int64), lay.line_end.astype(np.int64)
        if flow is not None and flow.source is not None:
            n_text, last = len(flow.text), flow.to_source(len(flow.text))
            if n_text:  # display -> source indices, the text's end -> the source's (no copy of the whole map)
                starts, ends = (np.where(i < n_text, flow.source[np.minimum(i, n_text - 1)], last).astype(np.int64)
                                for i in (starts, ends))
            else:
                starts, ends = np.full(n, last, dtype=np.int64), np.full(n, last, dtype=np.int64)
        px = self.config.px(self.config.font_size)
        s = self.config.horizontal_scale
        w, h = size
        out[:, 0], out[:, 1] = starts, ends
        out[:, 2] = np.clip(lay.line_left * s, 0, w)
        out[:, 3] = np.clip(lay.line_base - 0.95 * px, 0, h)
        out[:, 4] = np.clip(lay.line_right * s, 0, w)
        out[:, 5] = np.clip(lay.line_base + 0.3 * px, 0, h)
        return out


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


def pages(content: Content, cfg: RenderConfig, model: VisionModel, draw: bool = True,
          renderer: Renderer | None = None, line_numbers: bool = False,
          missing: Counter | None = None) -> Iterator[Page]:
    """The pages of any content, in order: laid out and drawn under θ, or, for pages that exist already,
    read one at a time (``draw=False``: their sizes only; images are fitted into θ's page). ``missing`` counts
    characters without a glyph."""
    if content.raster is not None:
        raster = content.raster_for(cfg)
        images = raster.images() if draw else iter(())
        for i, (size, rng) in enumerate(zip(raster.sizes, raster.page_ranges)):
            page = Page(i, 0, 0, rng, 0, 0, image=next(images) if draw else None)
            page.set_size(*size, model)
            yield page
        return
    r = renderer or renderer_for(cfg)
    for page, _ in r.pages(content.flow(cfg, line_numbers), model, draw=draw, missing=missing):
        if cfg.page_label and page.image is not None:  # in the margin: the size, and the tokens, stay
            from .raster.label import draw_label, label_text

            part = next((name for name, a, b in content.parts if a <= page.source_range[0] < max(b, a + 1)), None)
            page.image = draw_label(page.image, label_text(page.index + 1, part), cfg)
        yield page


def _finish(content: Content, cfg: RenderConfig, model: VisionModel, acct: Accounting | None, pages: list[Page],
            timings: dict[str, float], missing: Counter) -> Rendered:
    t = time.perf_counter()
    text = content.source
    total = None
    if acct is not None:  # tokens of each page's text on its own, and of the whole text
        counts, total = acct.finish([p.source_range for p in pages])
        for p, n in zip(pages, counts):
            p.text_tokens = n
    timings["tokenize_s"] = time.perf_counter() - t
    documents = []
    for doc_name, a, b in content.parts:  # which pages each part of a bundle is on
        on = [p.index + 1 for p in pages if p.source_range[0] < max(b, a + 1) and p.source_range[1] > a]
        documents.append({"name": doc_name, "source_range": [a, b], "pages": [on[0], on[-1]] if on else []})
    return Rendered(cfg, model, acct.name if acct else None, total, len(text), pages, timings, content.name,
                    hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), content.format, documents,
                    dict(missing.most_common()), text)


def _accounting(tokenizer: str | None, content: Content, count_text: bool = True):
    """The token counting of a render (a context manager; ``None`` inside when not counting)."""
    return accounting(tokenizer, content.source) if count_text else nullcontext(None)


def _parallel(content: Content, jobs: int, cfg: RenderConfig) -> bool:
    """Whether a render shares its pages among processes: a long plain text, and no page label (labels are
    drawn where pages are laid out)."""
    return jobs > 1 and content.plain and len(content.source) >= PARALLEL_MIN_CHARS and not cfg.page_label


def render(text: Input, config: RenderConfig | str | None = None, *,
           model: str | VisionModel | None = None, tokenizer: str | None = None, count_text: bool = True,
           jobs: int = 1, renderer: Renderer | None = None, name: str | None = None,
           line_numbers: bool = False) -> Rendered:
    """Render text (or a structured Document) into page images held in memory (nothing touches the disk).

    ``jobs > 1`` shares a long plain text (200K characters or more) among that many processes; the
    worker processes are kept for later renders (``shutdown_workers()`` stops them)."""
    cfg = renderer.config if renderer else _config(config)
    content = Content.of(text, name)
    vm = vision_model(model)
    with _accounting(tokenizer, content, count_text) as acct:
        t0 = time.perf_counter()
        missing: Counter = Counter()
        if _parallel(content, jobs, cfg):
            from .parallel import render_pages

            pages_ = render_pages(renderer or renderer_for(cfg), content.source, vm, jobs, None, missing=missing)
        else:
            pages_ = list(_counted(acct, pages(content, cfg, vm, renderer=renderer, line_numbers=line_numbers,
                                                missing=missing)))
        return _finish(content, cfg, vm, acct, pages_, {"render_s": time.perf_counter() - t0}, missing)


def count(text: Input, config: RenderConfig | str | None = None, *,
          model: str | VisionModel | None = None, tokenizer: str | None = None, name: str | None = None,
          line_numbers: bool = False) -> Rendered:
    """Accounting only: layout decides the pages and their sizes; no pixels are kept (the published
    layout's auto-crop needs each page drawn to find its ink)."""
    cfg = _config(config)
    content = Content.of(text, name)
    vm = vision_model(model)
    with _accounting(tokenizer, content) as acct:
        t0 = time.perf_counter()
        missing: Counter = Counter()
        pages_ = list(_counted(acct, pages(content, cfg, vm, draw=False, line_numbers=line_numbers, missing=missing)))
        return _finish(content, cfg, vm, acct, pages_, {"layout_s": time.perf_counter() - t0}, missing)


def _counted(acct: Accounting | None, pages_: Iterator[Page]) -> Iterator[Page]:
    """The pages, each handed to the token counting as it comes."""
    for page in pages_:
        if acct is not None:
            acct.page(*page.source_range)
        yield page


def render_to_dir(text: Input, out_dir: str | Path, config: RenderConfig | str | None = None, *,
                  model: str | VisionModel | None = None, tokenizer: str | None = None,
                  count_text: bool = True, jobs: int = 1, name: str | None = None,
                  progress: Progress | None = None, line_numbers: bool = False) -> Rendered:
    """Render to ``out_dir/page_0001.png ...`` plus ``manifest.json``; pages stream to disk.

    The manifest is written last and atomically; the old one is removed first.
    """
    cfg = _config(config)
    content = Content.of(text, name)
    vm = vision_model(model)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise GlyphpressError(f"{out}: exists and is not a folder")
    with _accounting(tokenizer, content, count_text) as acct:
        try:
            manifest.begin(out)
        except OSError as e:
            raise GlyphpressError(f"{out}: cannot write ({e.strerror})") from None
        t0 = time.perf_counter()
        missing: Counter = Counter()
        if _parallel(content, jobs, cfg):
            from .parallel import render_pages

            pages_ = render_pages(renderer_for(cfg), content.source, vm, jobs, out, progress, missing=missing)
        else:
            pages_ = []
            with PageWriter(out, cfg) as writer:
                for page in _counted(acct, pages(content, cfg, vm, line_numbers=line_numbers, missing=missing)):
                    writer.put(page)
                    pages_.append(page)
                    if progress:
                        progress(len(pages_))
        timings = {"render_write_s": time.perf_counter() - t0}
        result = _finish(content, cfg, vm, acct, pages_, timings, missing)
    result.timings["total_s"] = time.perf_counter() - t0
    manifest.finish(out, result.manifest())
    return result
