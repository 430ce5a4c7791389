"""The server's settings: one definition from which ``glyphpress serve``'s flags and the
``GLYPHPRESS_*`` environment variables are both made (flag ``--max-pages``, variable
``GLYPHPRESS_MAX_PAGES``, field ``max_pages``)."""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import typing
from dataclasses import dataclass, field
from typing import Any

from ..errors import GlyphpressError

ENV_PREFIX = "GLYPHPRESS_"


def _opt(default: Any, help: str, minimum: float | None = None) -> Any:  # noqa: A002 - the flag's help
    return field(default=default, metadata={"help": help, "min": minimum})


@dataclass
class Settings:
    host: str = _opt("127.0.0.1", "Address to listen on.")
    port: int = _opt(7860, "Port to listen on.", 1)
    data_dir: str = _opt("glyphpress-data", "Where rendered documents are kept (they survive restarts).")
    token: str | None = _opt(None, "Require this bearer token for the API and the app (the app's address "
                                   "carries it once: /?token=...).")
    backend: str = _opt("openai", "openai (an OpenAI-compatible server) or transformers (a local model).")
    model: str | None = _opt(None, "VLM to ask.")
    base_url: str | None = _opt(None, "OpenAI-compatible base URL of the VLM server.")
    api_key: str | None = _opt(None, "Its bearer token.")
    baseline_url: str | None = _opt(None, "A text-only LLM for side-by-side answers.")
    baseline_model: str | None = _opt(None, "The baseline's model name.")
    fonts: str | None = _opt(None, "Fonts clients may pick (font-family), besides the bundled ones: "
                                   "comma-separated family names or font files, resolved at start-up.")
    allowed_hosts: str | None = _opt(None, "Host names clients may use to reach the server (comma-separated; "
                                           "default: the loopback names and --host). Guards against DNS "
                                           "rebinding; * allows any.")
    max_upload_mb: float = _opt(50.0, "Largest request body, counted as it arrives.", 0.001)
    max_uploads_mb: float = _opt(400.0, "Request bodies held at once, all requests together; beyond, 503.", 0.001)
    max_pages: int = _opt(500, "Pages per document.", 1)
    max_page_pixels: int = _opt(16_000_000, "Pixels per page, rendered or from a PDF.", 1)
    max_documents: int = _opt(200, "Documents kept; the oldest go first.", 1)
    lifetime_hours: float = _opt(168.0, "Hours a document is kept.", 0.001)
    request_timeout: float = _opt(300.0, "Seconds any request may take, streams included; work past it stops.",
                                  0.1)
    body_timeout: float = _opt(60.0, "Seconds a client may take to send its request body.", 0.1)
    head_timeout: float = _opt(10.0, "Seconds a connection may take to send a request's head (line and headers).",
                               0.1)
    max_connections: int = _opt(256, "Connections at once; beyond, 503.", 1)
    parse_timeout: float = _opt(120.0, "Seconds parsing one uploaded file may take.", 0.1)
    parse_memory_mb: int = _opt(2048, "Memory parsing one uploaded file may use.", 16)
    max_concurrent: int = _opt(2, "Renders and questions at once.", 1)
    max_queued: int = _opt(64, "Requests that may wait for a slot; beyond them, 429.", 0)
    extra: dict[str, Any] = field(default_factory=dict, metadata={"internal": True})

    def __post_init__(self) -> None:
        for f in options():
            low = f.metadata["min"]
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise GlyphpressError(f"{flag(f)} must be a finite number, got {value}")
            if low is not None and value < low:
                raise GlyphpressError(f"{flag(f)} must be at least {low:g}, got {value:g}")
        if self.port > 65535:
            raise GlyphpressError(f"--port must be at most 65535, got {self.port}")
        if self.token is not None and not self.token.strip():
            self.token = None  # an empty GLYPHPRESS_TOKEN means no token, not a token nobody can give
        if self.backend not in ("openai", "transformers"):
            raise GlyphpressError(f"--backend must be openai or transformers, got {self.backend!r}")

    def hosts(self) -> set[str] | None:
        """Host names (lower case, no port, no brackets) the server answers to besides IP addresses; None:
        any. Listening everywhere without a list, the machine's own names."""
        names = {bare(h) for h in (self.allowed_hosts or "").split(",") if h.strip()}
        if "*" in names:
            return None
        names |= {"localhost", bare(self.host)}
        if self.host in ("0.0.0.0", "::", ""):
            import socket

            names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        return names

    @property
    def lifetime_s(self) -> float:
        return self.lifetime_hours * 3600

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1e6)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``GLYPHPRESS_*`` variables, then ``overrides``."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in options():
            raw = environ.get(env_name(f))
            if raw is not None:
                values[f.name] = _parse(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def bare(host: str) -> str:
    """A host name as the Host header has it, without port and brackets: "[::1]:80" and "::1" -> "::1"."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1: host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def options() -> list[dataclasses.Field]:
    """The settings a user sets, in order."""
    return [f for f in dataclasses.fields(Settings) if not f.metadata.get("internal")]


@functools.cache
def _hints() -> dict[str, Any]:
    return typing.get_type_hints(Settings)


def kind(f: dataclasses.Field) -> type:
    """A setting's value type (str, int or float), optional or not."""
    hint = _hints()[f.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def env_name(f: dataclasses.Field) -> str:
    return ENV_PREFIX + f.name.upper()


def flag(f: dataclasses.Field) -> str:
    return "--" + f.name.replace("_", "-")


def _parse(f: dataclasses.Field, raw: str) -> Any:
    t = kind(f)
    try:
        return t(raw) if t in (int, float) else raw
    except ValueError:
        raise GlyphpressError(f"{env_name(f)}={raw!r}: expected {'an integer' if t is int else 'a number'}") from None
