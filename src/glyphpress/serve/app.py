"""The HTTP API and the web app, in one FastAPI application made of three routers (documents, asking,
the site) behind two layers: ``Guard`` (token, cross-site requests, security headers) and ``BodyLimit``
(request bodies bounded in size and time as they arrive).

Heavy work runs in worker threads within a limited number of slots (a short queue, then 429), under the
request deadline, streams included; uploads are parsed in a child process under time and memory limits;
documents live in the data folder under random ids and survive restarts.
"""

from __future__ import annotations

import contextlib
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import GlyphpressError
from . import asking, documents, site
from .bodies import BodyLimit
from .guard import Guard
from .replies import error_response
from .services import Services
from .settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    s = settings or Settings.from_env()
    sv = Services.start(s)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        await sv.aclose()

    app = FastAPI(title="glyphpress", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Render long documents into compact pages for VLMs; ask questions about them.")
    app.state.services = sv
    # Swagger UI's files as the fastapi-swagger package ships them: the docs page needs no CDN
    app.mount("/static/swagger", StaticFiles(directory=str(resources.files("fastapi_swagger") / "resources")),
              name="swagger")
    for r in (documents.router, asking.router, site.router):
        app.include_router(r)
    app.add_middleware(BodyLimit, limit=s.max_upload_bytes, seconds=s.body_timeout,
                       total=int(s.max_uploads_mb * 1e6))
    app.add_middleware(Guard, token=s.token, hosts=s.hosts())  # outermost: nothing is read before the caller is known

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException):
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError):
        return error_response(422, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))

    @app.exception_handler(GlyphpressError)
    async def user_error(_request: Request, exc: GlyphpressError):
        return error_response(400, str(exc))

    return app


__all__ = ["create_app", "Settings"]
