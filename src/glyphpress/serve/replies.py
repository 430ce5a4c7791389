"""Errors as the API answers them: ``{"error": {"status": ..., "message": ...}}`` with that HTTP status."""

from __future__ import annotations

import json

from fastapi.responses import JSONResponse
from starlette.types import Send

SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer")]


def error_body(status: int, message: str) -> dict:
    return {"error": {"status": status, "message": message}}


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status)


async def send_error(send: Send, status: int, message: str, close: bool = False) -> None:
    """The error sent from ASGI middleware, before any route ran."""
    body = json.dumps(error_body(status, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *SECURITY_HEADERS]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
