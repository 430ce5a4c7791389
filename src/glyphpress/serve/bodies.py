"""Request bodies: bounded in size as they arrive (a chunked body has no Content-Length to check) and in
time (a client that drips its body holds a connection, not a slot); JSON only with a JSON content type."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .gate import remaining
from .replies import send_error


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"request body larger than {limit / 1e6:g} MB, this server's limit")


class BodyLimit:
    """ASGI middleware: at most ``limit`` bytes of body, all of it within ``seconds``; and at most ``total``
    bytes of bodies held by all requests at once (beyond, 503: many stalled uploads must not fill memory)."""

    def __init__(self, app: ASGIApp, limit: int, seconds: float, total: int):
        self.app, self.limit, self.seconds, self.total = app, limit, seconds, total
        self.held = 0  # bytes of bodies received by requests that have not ended

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                error = BodyTooLarge(self.limit)
                await send_error(send, error.status_code, error.detail, close=True)
                return
        seen = 0
        done = False
        deadline = time.monotonic() + self.seconds

        async def limited() -> Message:
            nonlocal seen, done
            if done:  # the body is in: what follows is a disconnect, whenever it comes
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), remaining(deadline))
            except asyncio.TimeoutError:
                raise HTTPException(408, f"the request body took longer than {self.seconds:g} s to arrive") \
                    from None
            if message["type"] == "http.request":
                size = len(message.get("body", b""))
                if self.held + size > self.total:
                    raise HTTPException(503, "too many uploads arriving at once; retry shortly")
                seen += size
                self.held += size
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
                done = not message.get("more_body", False)
            else:
                done = True
            return message

        try:
            await self.app(scope, limited, send)
        finally:
            self.held -= seen


async def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object body: 415 without a JSON content type, 400 when it is not a JSON object."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise HTTPException(415, "send the body as JSON (Content-Type: application/json)")
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object")
    try:  # a lone surrogate ("\\ud800") is valid JSON but no text: it would fail wherever the text goes next
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise HTTPException(400, "the body holds text that is not valid Unicode (a lone surrogate)") from None
    return body
