"""The web app's page, its icon, its examples (long texts from the bundled samples, each with a question
and its expected answer), the API docs page served from this server alone, and the health check (which
tells configuration only to callers with the token, where the server has one)."""

from __future__ import annotations

import functools
import json
from importlib import resources

from fastapi import APIRouter, HTTPException, Request
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


DOCS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>glyphpress API</title><link rel="icon" href="/favicon.ico" type="image/svg+xml">
<link rel="stylesheet" href="/static/swagger/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="/static/swagger/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout"});</script></body></html>"""


@router.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    """Swagger UI from the fastapi-swagger package, mounted at /static/swagger: no CDN needed."""
    return HTMLResponse(DOCS)


@functools.lru_cache(maxsize=1)
def examples() -> dict[str, dict]:
    """The examples with their texts: a sample, repeated where asked, with a sentence (the needle) put in at a
    line break near ``needle_at`` of the way through."""
    folder = resources.files("glyphpress") / "samples"
    out = {}
    for ex in json.loads((folder / "examples.json").read_text(encoding="utf-8")):
        text = (folder / ex["file"]).read_text(encoding="utf-8").strip() + "\n"
        text = "\n".join([text] * ex.get("repeat", 1))
        if ex.get("needle"):
            at = text.find("\n", int(len(text) * ex["needle_at"])) + 1
            text = text[:at] + ex["needle"] + "\n" + text[at:]
        out[ex["id"]] = {k: ex[k] for k in ("id", "lang", "title", "question", "answer")} | {
            "characters": len(text), "text": text}
    return out


@router.get("/v1/examples", summary="Examples to try: long texts, each with a question and its expected answer")
async def list_examples() -> dict:
    return {"examples": [{k: v for k, v in ex.items() if k != "text"} for ex in examples().values()]}


@router.get("/v1/examples/{example_id}", summary="One example with its text")
async def get_example(example_id: str) -> dict:
    if example_id not in examples():
        raise HTTPException(404, "no such example")
    return examples()[example_id]
