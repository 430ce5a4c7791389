"""Who may use the server: the bearer token (compared in constant time; in the address only once, to
open the app, which then keeps it in a cookie), and no browser on another site (a page elsewhere must not
drive a tokenless loopback server and spend its operator's VLM key), nor one that reaches the server
under a host name it does not answer to (DNS rebinding). Every response gets the security headers."""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .replies import SECURITY_HEADERS, send_error
from .settings import bare

COOKIE = "glyphpress_token"
OPEN = ("/healthz", "/favicon.ico")  # answered without the token (healthz then says nothing configurable)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class Guard:
    def __init__(self, app: ASGIApp, token: str | None, hosts: set[str] | None = None):
        self.app, self.token, self.hosts = app, token, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.hosts is not None and not host_allowed(headers.get("host", ""), self.hosts):
            # a page elsewhere whose name was made to resolve to this machine (DNS rebinding) names itself here
            await send_error(send, 403, "this server does not answer to that host name (see --allowed-hosts)")
            return
        if scope["method"] not in SAFE_METHODS and not same_origin(headers, scope):
            await send_error(send, 403, "cross-site requests are refused: call this API from its own pages or a client")
            return
        authorized = self.token is None or self._presented(headers)
        scope.setdefault("state", {})["authorized"] = authorized
        if self.token is not None and not authorized:
            if scope["path"] == "/" and scope["method"] == "GET" and self._in_query(scope):
                # the app's address carried the token once: keep it in a cookie, and take it out of the address
                cookie = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
                await send({"type": "http.response.start", "status": 303,
                            "headers": [(b"location", b"/"), (b"set-cookie", cookie.encode()), *SECURITY_HEADERS]})
                await send({"type": "http.response.body", "body": b""})
                return
            if scope["path"] not in OPEN:
                await send_error(send, 401, "a bearer token is required (Authorization: Bearer TOKEN)")
                return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)

    def _equal(self, supplied: str | None) -> bool:
        return supplied is not None and hmac.compare_digest(supplied.encode(), self.token.encode())

    def _presented(self, headers: Headers) -> bool:
        auth = headers.get("authorization", "")
        bearer = auth[7:] if auth[:7].lower() == "bearer " else None
        cookie = None
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                cookie = value
        return self._equal(bearer) or self._equal(cookie)

    def _in_query(self, scope: Scope) -> bool:
        values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [])
        return any(self._equal(v) for v in values)


def host_allowed(host: str, names: set[str]) -> bool:
    """An IP address (DNS rebinding needs a name), or one of ``names``."""
    name = bare(host)
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return name in names


def same_origin(headers: Headers, scope: Scope) -> bool:
    """False for a browser request sent from another site; clients that are not browsers send no Origin."""
    if headers.get("sec-fetch-site") == "cross-site":
        return False
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host", "")
    return origin in (f"{scope.get('scheme', 'http')}://{host}", f"http://{host}", f"https://{host}")
