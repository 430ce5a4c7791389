"""The HTTP API and the web app, in one FastAPI application.

Renders run in worker threads under a concurrency limit (a short queue, then 429); every request
has a time limit; uploads are parsed under the ingestion time limit; documents live in the data
folder under random ids and survive restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import time
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..config import PRESETS, load_config
from ..document import LoadOptions, bundle, load_bytes
from ..errors import GlyphpressError
from ..pipeline import render_to_dir
from ..tokens.text import count_tokens, text_tokenizer
from ..vlm.ask import PROMPT_OVERHEAD, run_route
from ..vlm.base import Generation
from ..vlm.base import Request as AskRequest
from .store import Store


@dataclass
class Settings:
    data_dir: str = "glyphpress-data"
    token: str | None = None
    backend: str = "openai"
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    baseline_url: str | None = None
    baseline_model: str | None = None
    max_upload_mb: float = 50
    max_pages: int = 500
    max_page_pixels: int = 16_000_000
    max_documents: int = 200
    lifetime_s: float = 7 * 24 * 3600
    request_timeout_s: float = 300
    max_concurrent: int = 2
    max_queued: int = 64
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        env = {f.name: os.environ.get(f"GLYPHPRESS_{f.name.upper()}") for f in cls.__dataclass_fields__.values()}
        values = {}
        for name, raw in env.items():
            if raw is None or name == "extra":
                continue
            kind = cls.__dataclass_fields__[name].type
            values[name] = float(raw) if kind == "float" else int(raw) if kind == "int" else raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class _Gate:
    """At most ``limit`` jobs at once and ``queued`` waiting; beyond that, 429."""

    def __init__(self, limit: int, queued: int):
        self.sem = asyncio.Semaphore(limit)
        self.waiting = 0
        self.queued = queued

    async def __aenter__(self):
        if self.sem.locked() and self.waiting >= self.queued:
            raise HTTPException(429, "busy: too many renders and questions at once; retry shortly")
        self.waiting += 1
        try:
            await self.sem.acquire()
        finally:
            self.waiting -= 1
        return self

    async def __aexit__(self, *exc):
        self.sem.release()


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status)


def create_app(settings: Settings | None = None) -> FastAPI:
    s = settings or Settings.from_env()
    store = Store(s.data_dir, s.max_documents, s.lifetime_s)
    backends: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        for be in backends.values():
            await be.aclose()

    app = FastAPI(title="glyphpress", version=__version__, lifespan=lifespan,
                  description="Render long documents into compact pages for VLMs; ask questions about them.")
    gate = _Gate(s.max_concurrent, s.max_queued)
    app.state.settings, app.state.store = s, store

    def backend(kind: str):
        if kind == "baseline":
            if not s.baseline_url:
                return None
            if "baseline" not in backends:
                from ..vlm.openai import OpenAIBackend

                backends["baseline"] = OpenAIBackend(s.baseline_url, s.baseline_model or s.model or "default",
                                                     api_key=s.api_key)
            return backends["baseline"]
        if "main" not in backends:
            from ..vlm.ask import make_backend

            if s.backend == "openai" and not s.base_url:
                return None
            backends["main"] = make_backend(s.backend, s.model or "zai-org/Glyph", s.base_url, s.api_key)
        return backends["main"]

    @app.middleware("http")
    async def guard(request: Request, call_next):
        path = request.url.path
        if s.token and path not in ("/healthz",):
            supplied = request.headers.get("authorization", "")
            cookie = request.cookies.get("glyphpress_token")
            query = request.query_params.get("token")
            if supplied != f"Bearer {s.token}" and cookie != s.token and query != s.token:
                return _error(401, "a bearer token is required (Authorization: Bearer TOKEN)")
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > s.max_upload_mb * 1e6:
            return _error(413, f"upload larger than {s.max_upload_mb:g} MB")
        try:
            response = await asyncio.wait_for(call_next(request), timeout=s.request_timeout_s)
        except asyncio.TimeoutError:
            return _error(504, f"the request took longer than {s.request_timeout_s:g} s")
        if s.token and request.query_params.get("token") == s.token:
            response.set_cookie("glyphpress_token", s.token, httponly=True, samesite="strict")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException):
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError):
        return _error(422, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))

    @app.exception_handler(GlyphpressError)
    async def user_error(_request: Request, exc: GlyphpressError):
        return _error(400, str(exc))

    @app.get("/healthz", summary="Liveness and configuration")
    async def healthz() -> dict:
        return {"status": "ok", "version": __version__, "documents": len(store.ids()),
                "vlm": {"configured": backend("main") is not None if s.backend == "openai" else True,
                        "backend": s.backend, "model": s.model or "zai-org/Glyph", "base_url": s.base_url},
                "baseline": bool(s.baseline_url)}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        html = (resources.files("glyphpress") / "serve" / "static" / "index.html").read_text(encoding="utf-8")
        return HTMLResponse(html.replace("__PRESETS__", json.dumps(list(PRESETS))))

    @app.post("/v1/render", summary="Render text or files (one bundle) under θ",
              description="JSON `{text, name?, preset?, set?: {key: value}}` or multipart form with `files` "
                          "(several: one bundle), optional `text`, `preset`, `set` (JSON object).")
    async def render_endpoint(request: Request) -> dict:
        ctype = request.headers.get("content-type", "")
        items: list[tuple[str, bytes]] = []
        if ctype.startswith("multipart/form-data"):
            form = await request.form()
            preset_name = str(form.get("preset") or "glyph-en")
            sets = json.loads(str(form.get("set") or "{}"))
            for upload in form.getlist("files"):
                items.append((Path(upload.filename or "upload.txt").name, await upload.read()))
            if form.get("text"):
                items.append((str(form.get("name") or "text.txt"), str(form.get("text")).encode("utf-8")))
        else:
            try:
                body = await request.json()
            except ValueError:
                raise HTTPException(400, "send JSON {\"text\": ...} or a multipart form with files") from None
            if not isinstance(body, dict) or not isinstance(body.get("text"), str):
                raise HTTPException(400, "JSON body needs a \"text\" string")
            preset_name = str(body.get("preset") or "glyph-en")
            sets = body.get("set") or {}
            items.append((Path(str(body.get("name") or "text.txt")).name, body["text"].encode("utf-8")))
        if not items:
            raise HTTPException(400, "nothing to render: give text or files")
        if not isinstance(sets, dict):
            raise HTTPException(400, "\"set\" must be an object of θ keys")
        cfg = load_config(preset_name, [f"{k}={v}" for k, v in sets.items()])
        w, h = cfg.page_px
        if w * h > s.max_page_pixels:
            raise HTTPException(400, f"pages of {w}x{h} pixels are over this server's limit of "
                                     f"{s.max_page_pixels:,}; lower dpi or page-size")
        doc_id = store.new_id()
        if request.query_params.get("progress"):
            return StreamingResponse(_render_progress(store, doc_id, items, cfg, s, gate),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        async with gate:
            result = await asyncio.to_thread(_render_job, store, doc_id, items, cfg, s)
        return _document_view(store, doc_id, result)

    @app.get("/v1/documents/{doc_id}", summary="A rendered document's manifest and page URLs")
    async def get_document(doc_id: str) -> dict:
        if store.folder(doc_id) is None:
            raise HTTPException(404, "no such document")
        return _document_view(store, doc_id, store.manifest(doc_id))

    @app.get("/v1/documents/{doc_id}/pages/{name}", summary="One page image")
    async def get_page(doc_id: str, name: str):
        path = store.page(doc_id, name)
        if path is None:
            raise HTTPException(404, "no such page")
        media = "image/webp" if name.endswith(".webp") else "image/png"
        return FileResponse(path, media_type=media, headers={"Cache-Control": "private, max-age=3600"})

    @app.delete("/v1/documents/{doc_id}", summary="Delete a document")
    async def delete_document(doc_id: str) -> dict:
        if not store.delete(doc_id):
            raise HTTPException(404, "no such document")
        return {"deleted": doc_id}

    @app.get("/v1/documents/{doc_id}/export.zip", summary="The session as a Markdown note with its pages")
    async def export(doc_id: str, note: str = "") -> Response:
        folder = store.folder(doc_id)
        if folder is None:
            raise HTTPException(404, "no such document")
        buf = io.BytesIO()
        m = store.manifest(doc_id)
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            lines = [f"# {store.meta(doc_id).get('name', doc_id)}", "", note, "", "## Pages", ""]
            for p in m["pages"]:
                z.write(folder / p["file"], f"pages/{p['file']}")
                lines.append(f"![{p['file']}](pages/{p['file']})")
            z.writestr("note.md", "\n".join(lines) + "\n")
        return Response(buf.getvalue(), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="glyphpress-{doc_id[:8]}.zip"'})

    @app.post("/v1/ask", summary="Ask a question about a document (SSE stream or JSON)",
              description="JSON `{document_id | text, question, stream?: true, baseline?: false, max_tokens?}`. "
                          "With stream, Server-Sent Events: `{\"text\": ...}` pieces, then `{\"done\": true, ...}`.")
    async def ask_endpoint(request: Request):
        try:
            body = await request.json()
        except ValueError:
            raise HTTPException(400, "send a JSON body") from None
        question = str(body.get("question") or "").strip()
        if not question:
            raise HTTPException(400, "the question is empty")
        be = backend("main")
        if be is None:
            raise HTTPException(503, "no VLM is configured: start the server with --base-url URL --model NAME "
                                     "(an OpenAI-compatible server) or --backend transformers --model NAME")
        doc_id = body.get("document_id")
        if not doc_id:
            text = body.get("text")
            if not isinstance(text, str) or not text.strip():
                raise HTTPException(400, "give a document_id or a text")
            doc_id = store.new_id()
            async with gate:
                await asyncio.to_thread(_render_job, store, doc_id, [("text.txt", text.encode())],
                                        load_config("glyph-en"), s)
        if store.folder(doc_id) is None:
            raise HTTPException(404, "no such document")
        m = store.manifest(doc_id)
        from PIL import Image

        images = [Image.open(store.folder(doc_id) / p["file"]).convert("RGB") for p in m["pages"]]
        gen = Generation(max_tokens=int(body.get("max_tokens") or 512))
        q_tokens = count_tokens(text_tokenizer(), question)
        predicted = m["totals"]["vision_tokens"] + q_tokens + PROMPT_OVERHEAD
        visual = AskRequest(question, images=images, gen=gen)
        base = backend("baseline") if body.get("baseline") else None
        text_req = AskRequest(question, text=store.source(doc_id), gen=gen) if base else None
        predicted_text = (m["totals"]["text_tokens"] or 0) + q_tokens + PROMPT_OVERHEAD
        stats = {"document_id": doc_id, "pages": len(images), "text_tokens": m["totals"]["text_tokens"],
                 "vision_tokens": m["totals"]["vision_tokens"], "compression_ratio": m["totals"]["compression_ratio"],
                 "prompt_tokens_predicted": predicted}
        if body.get("stream", True):
            return StreamingResponse(_sse(be, visual, base, text_req, predicted_text, stats, gate),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        async with gate:
            r = await run_route(be, visual, predicted, None)
            out = dict(stats, answer=r.answer, prompt_tokens_reported=r.usage.prompt_tokens,
                       latency_s=round(r.latency_s, 3))
            if base:
                out["baseline"] = _route_view(await run_route(base, text_req, predicted_text, None))
        return out

    return app


def _render_job(store: Store, doc_id: str, items: list[tuple[str, bytes]], cfg, s: Settings,
                report=None) -> dict:
    opts = LoadOptions(time_limit=min(120.0, s.request_timeout_s))
    docs = [load_bytes(data, name, "auto", opts) for name, data in items]
    content = docs[0] if len(docs) == 1 else bundle(docs, [n for n, _ in items])
    name = items[0][0] if len(items) == 1 else f"{len(items)} documents"
    source = content if isinstance(content, str) else content.source
    store.save_meta(doc_id, {"name": name, "created": time.time()}, source)
    folder = store.staging(doc_id)
    pages = 0

    def progress(n: int) -> None:
        nonlocal pages
        pages = n
        if n > s.max_pages:
            raise GlyphpressError(f"the document needs more than {s.max_pages} pages, this server's limit")
        if report is not None:
            report(n)

    try:
        result = render_to_dir(content, folder, cfg, name=name, progress=progress)
    except BaseException:
        store.delete(doc_id)
        raise
    store.cleanup()
    return result.manifest()


async def _render_progress(store: Store, doc_id: str, items, cfg, s: Settings, gate: _Gate):
    """Server-Sent Events while a render runs: {"pages": n} as pages finish, then {"done": true, "document": ...}."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()

    def report(n: int) -> None:
        loop.call_soon_threadsafe(events.put_nowait, n)

    def sse(obj: dict) -> bytes:
        return f"data: {json.dumps(obj)}\n\n".encode()

    try:
        async with gate:
            job = asyncio.ensure_future(asyncio.to_thread(_render_job, store, doc_id, items, cfg, s, report))
            while not job.done() or not events.empty():
                try:
                    n = await asyncio.wait_for(events.get(), timeout=0.2)
                    yield sse({"pages": n})
                except asyncio.TimeoutError:
                    continue
            yield sse({"done": True, "document": _document_view(store, doc_id, job.result())})
    except HTTPException as e:
        yield sse({"error": str(e.detail), "status": e.status_code})
    except GlyphpressError as e:
        yield sse({"error": str(e), "status": 400})


def _document_view(store: Store, doc_id: str, manifest: dict) -> dict:
    return {"id": doc_id, "name": store.meta(doc_id).get("name"),
            "pages": [f"/v1/documents/{doc_id}/pages/{p['file']}" for p in manifest["pages"]],
            "totals": manifest["totals"], "manifest": manifest}


def _route_view(r) -> dict:
    return {"answer": r.answer, "prompt_tokens_reported": r.usage.prompt_tokens, "latency_s": round(r.latency_s, 3)}


async def _sse(be, visual, base, text_req, predicted_text: int, stats: dict, gate: _Gate):
    def event(obj: dict) -> bytes:
        return f"data: {json.dumps(obj)}\n\n".encode()

    try:
        async with gate:
            t0 = time.perf_counter()
            usage = None
            async for piece in be.stream(visual):
                if piece.text:
                    yield event({"text": piece.text})
                if piece.usage is not None:
                    usage = piece.usage
            done = dict(stats, done=True, latency_s=round(time.perf_counter() - t0, 3),
                        prompt_tokens_reported=usage.prompt_tokens if usage else None)
            if base is not None:
                try:
                    done["baseline"] = _route_view(await run_route(base, text_req, predicted_text, None))
                except GlyphpressError as e:
                    done["baseline_error"] = str(e)
            yield event(done)
    except HTTPException as e:
        yield event({"error": str(e.detail), "status": e.status_code})
    except GlyphpressError as e:
        yield event({"error": str(e)})
