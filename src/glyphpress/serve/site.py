"""The web app's page, its icon, and the health check (which tells configuration only to callers with
the token, where the server has one)."""

from __future__ import annotations

import json
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from .. import __version__
from ..config import PRESETS
from .documents import services

router = APIRouter()
ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" '
        'fill="#1f4f8f"/><path d="M8 9h16M8 14h16M8 19h11M8 24h7" stroke="#fff" stroke-width="2.5" '
        'stroke-linecap="round"/></svg>')


@router.get("/healthz", summary="Liveness, and the configuration for callers with the token")
async def healthz(request: Request) -> dict:
    sv = services(request)
    if not request.state.authorized:
        return {"status": "ok"}
    s = sv.settings
    return {"status": "ok", "version": __version__, "documents": len(sv.store.finished()),
            "vlm": {"configured": sv.backend("main") is not None if s.backend == "openai" else True,
                    "backend": s.backend, "model": s.model or "zai-org/Glyph", "base_url": s.base_url},
            "baseline": bool(s.baseline_url), "fonts": sv.theta.names(), "presets": list(PRESETS),
            "jobs": {"running": sv.gate.running, "waiting": sv.gate.waiting, "slots": sv.gate.limit},
            "limits": {"max_upload_mb": s.max_upload_mb, "max_pages": s.max_pages,
                       "max_page_pixels": s.max_page_pixels}}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index() -> HTMLResponse:
    html = (resources.files("glyphpress") / "serve" / "static" / "index.html").read_text(encoding="utf-8")
    return HTMLResponse(html.replace("__PRESETS__", json.dumps(list(PRESETS))))


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    return Response(ICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})
