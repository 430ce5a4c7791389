"""A render as the server runs it (in a worker thread): uploads parsed, bundled and flattened (formulas
typeset) in a child process under the server's time, memory, page and pixel limits, which is killed when
the render is asked to stop; then pages written into the store, stopped at the next page when asked."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from ..config import RenderConfig
from ..content import Content
from ..document import ImageDocument, LoadOptions, RasterDocument, detect_format, load_bytes, load_flowed
from ..document.limits import with_time_limit
from ..document.pdf import Limits
from ..errors import GlyphpressError
from ..pipeline import render_to_dir
from .gate import Stopped
from .services import Services


def render_job(sv: Services, doc_id: str, items: list[tuple[str, bytes]], cfg: RenderConfig,
               report: Callable[[int], None] | None, stop: threading.Event) -> dict:
    """Render ``items`` (one document, or a bundle) as document ``doc_id``; its manifest. A failed or stopped
    render leaves nothing in the store."""
    s, store = sv.settings, sv.store
    opts = LoadOptions(time_limit=s.parse_timeout, memory_mb=s.parse_memory_mb,
                       limits=Limits(max_pages=s.max_pages, max_raster_pixels=s.max_page_pixels))
    try:
        name = items[0][0] if len(items) == 1 else f"{len(items)} documents"
        if len(items) == 1 and detect_format(name, items[0][1][:16]) == "text":  # decoded here, nothing to parse
            content = Content.of(load_bytes(items[0][1], name, "text", opts), name)
        else:
            obj, flow = with_time_limit(s.parse_timeout, name, load_flowed, items, cfg, replace(opts, time_limit=None),
                                        memory_mb=s.parse_memory_mb, stop=stop)
            if isinstance(obj, (RasterDocument, ImageDocument)):  # pages drawn later, in a child, the same limits
                obj.time_limit, obj.memory_mb = s.parse_timeout, s.parse_memory_mb
            content = Content.of(obj, name)
            if flow is not None:
                content.flows[(cfg, False)] = flow
        if stop.is_set():
            raise Stopped()
        source = content.source
        store.save_meta(doc_id, {"name": name, "created": time.time()}, source)

        def progress(n: int) -> None:
            if stop.is_set():
                raise Stopped()
            if n > s.max_pages:
                raise GlyphpressError(f"the document needs more than {s.max_pages} pages, this server's limit")
            if report is not None:
                report(n)

        result = render_to_dir(content, store.staging(doc_id), cfg, name=name, progress=progress)
        store.save_lines(doc_id, [None if p.lines is None else [[round(v, 1) for v in row] for row in p.lines.tolist()]
                                  for p in result.pages])
    except GlyphpressError as e:
        store.delete(doc_id)
        # a message about this server's own folders (a file it could not write) names no path of the server's
        raise GlyphpressError(str(e).replace(str(store.root), "<data>")) from None
    except BaseException:
        store.delete(doc_id)
        raise
    with contextlib.suppress(OSError):  # the document is whole: tidying up cannot fail its request
        store.cleanup()
    return result.manifest()

