"""Routes for documents: render text or files under θ (with progress events if asked), read a document's
manifest and pages, list, export and delete them."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from ..errors import GlyphpressError
from .bodies import json_object
from .gate import Stopped
from .jobs import render_job
from .services import Services

router = APIRouter()
MAX_FILES = 64


def services(request: Request) -> Services:
    return request.app.state.services


def flag(value: str | None) -> bool:
    """A query flag: 1, true, yes or on."""
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def sse(obj: dict) -> bytes:
    return f"data: {json.dumps(obj)}\n\n".encode()


async def unless_gone(request: Request, work) -> Any:
    """The result of the coroutine ``work``; if the client hangs up first, the work is cancelled (its thread
    asked to stop, its slot kept until that thread has returned) and the answer is an error nobody reads."""
    task = asyncio.ensure_future(work)
    while True:
        done, _ = await asyncio.wait([task], timeout=0.25)
        if done:
            return task.result()
        if await request.is_disconnected():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise HTTPException(400, "the client went away; its work was stopped")


def document_view(sv: Services, doc_id: str, manifest: dict) -> dict:
    return {"id": doc_id, "name": sv.store.meta(doc_id).get("name"),
            "pages": [f"/v1/documents/{doc_id}/pages/{p['file']}" for p in manifest["pages"]],
            "totals": manifest["totals"], "manifest": manifest}


async def _render_request(request: Request) -> tuple[list[tuple[str, bytes]], Any, Any]:
    """(items, preset, set) from a JSON body or a multipart form."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    items: list[tuple[str, bytes]] = []
    if ctype == "multipart/form-data":
        form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES + 8,
                                  max_part_size=services(request).settings.max_upload_bytes)  # pasted text too
        preset_name = form.get("preset") or "glyph-en"
        try:
            sets = json.loads(str(form.get("set") or "{}"))
        except ValueError:
            raise HTTPException(400, '"set" must be a JSON object of θ keys and values') from None
        for upload in form.getlist("files"):
            if isinstance(upload, str):
                raise HTTPException(400, '"files" must be files')
            items.append((Path(upload.filename or "upload.txt").name or "upload.txt", await upload.read()))
        text, name = form.get("text"), form.get("name")
        if not isinstance(text, (str, type(None))) or not isinstance(name, (str, type(None))):
            raise HTTPException(400, '"text" and "name" must be form fields, not files')
        if text:
            items.append((Path(name or "text.txt").name or "text.txt", text.encode("utf-8")))
    else:
        body = await json_object(request)
        if not isinstance(body.get("text"), str):
            raise HTTPException(400, 'the JSON body needs a "text" string')
        preset_name, sets = body.get("preset") or "glyph-en", body.get("set") or {}
        items.append((Path(str(body.get("name") or "text.txt")).name or "text.txt", body["text"].encode("utf-8")))
    if not items or not any(data.strip() for _, data in items):
        raise HTTPException(400, "nothing to render: give text or files")
    return items, preset_name, sets


@router.post("/v1/render", summary="Render text or files (one bundle) under θ",
             description="JSON `{text, name?, preset?, set?: {key: value}}` or a multipart form with `files` "
                         "(several: one bundle), optional `text`, `preset`, `set` (a JSON object). θ keys and "
                         "their ranges are this server's allow-list; fonts are the families it offers. With "
                         "`?progress=1`, Server-Sent Events `{\"pages\": n}`, then `{\"done\": true, \"document\"}`.")
async def render(request: Request):
    sv = services(request)
    deadline = sv.deadline()
    items, preset_name, sets = await _render_request(request)
    cfg = sv.theta.config(preset_name, sets)
    w, h = cfg.page_px
    if w * h > sv.settings.max_page_pixels:
        raise HTTPException(400, f"pages of {w}x{h} pixels are over this server's limit of "
                                 f"{sv.settings.max_page_pixels:,}; lower dpi or page-size")
    doc_id = sv.store.new_id()
    if flag(request.query_params.get("progress")):
        sv.gate.refuse_if_full()  # a stream starts with 200: busy must be said before it
        return StreamingResponse(_progress(sv, doc_id, items, cfg, deadline), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})
    manifest = await unless_gone(request, sv.gate.run(deadline, render_job, sv, doc_id, items, cfg, None))
    return document_view(sv, doc_id, manifest)


async def _progress(sv: Services, doc_id: str, items, cfg, deadline: float):
    """Events while the render runs. The slot is held until the render has ended, also when the client hangs
    up (the render is then stopped) or the deadline passes."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()

    def report(n: int) -> None:
        loop.call_soon_threadsafe(events.put_nowait, n)

    try:
        async with sv.gate.thread(deadline, render_job, sv, doc_id, items, cfg, report) as (job, stop):
            while not job.done() or not events.empty():
                if time.monotonic() > deadline:
                    stop.set()
                    yield sse({"error": "the render took longer than this server allows; it was stopped",
                               "status": 504})
                    return
                try:
                    yield sse({"pages": await asyncio.wait_for(events.get(), timeout=0.2)})
                except asyncio.TimeoutError:
                    continue
            manifest = job.result()
        yield sse({"done": True, "document": document_view(sv, doc_id, manifest)})
    except HTTPException as e:
        yield sse({"error": str(e.detail), "status": e.status_code})
    except Stopped:
        yield sse({"error": "the render was stopped", "status": 503})
    except GlyphpressError as e:
        yield sse({"error": str(e), "status": 400})


@router.get("/v1/documents", summary="The finished documents, newest first")
async def list_documents(request: Request) -> dict:
    sv = services(request)
    out = []
    for doc_id in sv.store.finished():
        meta = sv.store.meta(doc_id)
        out.append({"id": doc_id, "name": meta.get("name"), "created": meta.get("created"),
                    "url": f"/v1/documents/{doc_id}"})
    return {"documents": out}


@router.get("/v1/documents/{doc_id}", summary="A rendered document's manifest and page URLs")
async def get_document(request: Request, doc_id: str) -> dict:
    sv = services(request)
    manifest = sv.store.manifest(doc_id)
    if manifest is None:
        raise HTTPException(404, "no such document")
    return document_view(sv, doc_id, manifest)


@router.get("/v1/documents/{doc_id}/pages/{name}", summary="One page image")
async def get_page(request: Request, doc_id: str, name: str):
    path = services(request).store.page(doc_id, name)
    if path is None:
        raise HTTPException(404, "no such page")
    media = "image/webp" if name.endswith(".webp") else "image/png"
    try:
        data = await asyncio.to_thread(path.read_bytes)  # whole, so a delete meanwhile cannot cut it short
    except OSError:
        raise HTTPException(404, "no such page") from None
    return Response(data, media_type=media, headers={"Cache-Control": "private, max-age=3600"})


@router.delete("/v1/documents/{doc_id}", summary="Delete a document")
async def delete_document(request: Request, doc_id: str) -> dict:
    if not services(request).store.delete(doc_id):
        raise HTTPException(404, "no such document")
    return {"deleted": doc_id}


@router.get("/v1/documents/{doc_id}/export.zip", summary="The session as a Markdown note with its pages")
async def export(request: Request, doc_id: str, note: str = "") -> Response:
    sv = services(request)
    if sv.store.folder(doc_id) is None:
        raise HTTPException(404, "no such document")
    data = await sv.gate.run(sv.deadline(), _zip, sv, doc_id, note[:100_000])
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="glyphpress-{doc_id[:8]}.zip"'})


def _zip(sv: Services, doc_id: str, note: str, stop) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        lines = [f"# {sv.store.meta(doc_id).get('name', doc_id)}", "", note, "", "## Pages", ""]
        for name, data in page_files(sv, doc_id, stop):
            z.writestr(f"pages/{name}", data)
            lines.append(f"![{name}](pages/{name})")
        z.writestr("note.md", "\n".join(lines) + "\n")
    return buf.getvalue()


def page_files(sv: Services, doc_id: str, stop) -> Iterator[tuple[str, bytes]]:
    """(file name, bytes) of each page of a whole document, read one after another in a worker thread; 404
    when there is no such document (or it is deleted meanwhile), ``Stopped`` once ``stop`` is set."""
    folder, manifest = sv.store.folder(doc_id), sv.store.manifest(doc_id)
    if folder is None or manifest is None:
        raise HTTPException(404, "no such document")
    for p in manifest["pages"]:
        if stop.is_set():
            raise Stopped()
        try:
            data = (folder / p["file"]).read_bytes()
        except FileNotFoundError:
            raise HTTPException(404, "no such document") from None
        yield p["file"], data
