"""The server's sockets: uvicorn with a bound on connections and on the time a request's head (its line and
headers) may take to arrive, which uvicorn itself does not bound (a client that opens connections and never
finishes a head would hold them, and the process's file descriptors, forever)."""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..errors import GlyphpressError
from .settings import Settings


def protocol(head_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing a connection whose next request head has not arrived in time."""

    class HeadTimeout(H11Protocol):
        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # a kept-alive connection's next head gets the same time

        def connection_lost(self, exc: Exception | None) -> None:
            timer = getattr(self, "_head_timer", None)
            if timer is not None:
                timer.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            timer = getattr(self, "_head_timer", None)
            if timer is not None:
                timer.cancel()
            armed = self.cycle  # a new head makes a new cycle
            self._head_timer = self.loop.call_later(head_timeout, self._late, armed)

        def _late(self, armed: Any) -> None:
            idle = armed is None or armed.response_complete
            if self.cycle is armed and idle and not self.transport.is_closing():
                self.transport.close()

    return HeadTimeout


def check_port(s: Settings) -> None:
    """A port in use (or an address not this machine's) is one clear error, before anything starts."""
    family = socket.AF_INET6 if ":" in s.host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((s.host, s.port))
        except OSError as e:
            raise GlyphpressError(f"cannot listen on {s.host}:{s.port}: {e.strerror}") from None


def serve(app: Any, s: Settings) -> None:
    uvicorn.run(app, host=s.host, port=s.port, log_level="warning", http=protocol(s.head_timeout),
                limit_concurrency=s.max_connections, timeout_keep_alive=5)
