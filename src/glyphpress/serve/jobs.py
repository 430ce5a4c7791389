"""A render as the server runs it (in a worker thread): uploads parsed in a child under the server's
time, memory, page and pixel limits, pages written into the store, stopped at the next page when asked."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..config import RenderConfig
from ..document import LoadOptions, bundle, load_bytes
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
        docs = []
        for name, data in items:
            if stop.is_set():
                raise Stopped()
            docs.append(load_bytes(data, name, "auto", opts))
        content = docs[0] if len(docs) == 1 else bundle(docs, [n for n, _ in items])
        name = items[0][0] if len(items) == 1 else f"{len(items)} documents"
        source = content if isinstance(content, str) else content.source
        store.save_meta(doc_id, {"name": name, "created": time.time()}, source)

        def progress(n: int) -> None:
            if stop.is_set():
                raise Stopped()
            if n > s.max_pages:
                raise GlyphpressError(f"the document needs more than {s.max_pages} pages, this server's limit")
            if report is not None:
                report(n)

        result = render_to_dir(content, store.staging(doc_id), cfg, name=name, progress=progress)
    except BaseException:
        store.delete(doc_id)
        raise
    store.cleanup()
    return result.manifest()
