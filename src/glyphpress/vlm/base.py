"""The small protocol every backend implements: pages (or text) and a question in, a stream of text
pieces out, then usage. Backends differ only in transport (an HTTP server, a local model)."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image


@dataclass
class Generation:
    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()


@dataclass
class Request:
    question: str
    images: list[Image.Image | bytes] = field(default_factory=list)  # the visual route: images, or PNG/WebP files
    text: str | None = None  # the text route (baseline): the document as text
    gen: Generation = field(default_factory=Generation)
    pages_first: bool = True
    system: str | None = None
    preamble: str | None = None  # text before the pages (an instruction), kept as text; the question follows them

    def prompt_text(self) -> str:
        if self.text is None:
            return self.question
        return f"{self.text}\n\n{self.question}" if self.pages_first else f"{self.question}\n\n{self.text}"

    def layout(self) -> list[tuple[str, object]]:
        """The user turn in order, as ("text", str) and ("image", image) parts: the preamble, then the pages
        and the question (pages first unless ``pages_first`` is off); text alone when there are no pages."""
        if not self.images:
            return [("text", "\n".join(t for t in (self.preamble, self.prompt_text()) if t))]
        pages = [("image", img) for img in self.images]
        question = [("text", self.prompt_text())]
        body = pages + question if self.pages_first else question + pages
        return ([("text", self.preamble)] if self.preamble else []) + body


@dataclass
class Usage:
    prompt_tokens: int | None = None  # as the engine reported them
    completion_tokens: int | None = None


@dataclass
class Piece:
    """One event of a stream: a piece of answer text, or (last) the usage."""

    text: str = ""
    usage: Usage | None = None


class Backend(Protocol):
    name: str
    model: str

    def stream(self, request: Request) -> AsyncIterator[Piece]: ...

    async def aclose(self) -> None: ...


def encoded(img: Image.Image | bytes) -> tuple[bytes, str]:
    """(the image as a file, its media type): a PNG or WebP file's bytes as they are, an image as PNG."""
    if isinstance(img, bytes):
        return img, "image/webp" if img[:4] == b"RIFF" and img[8:12] == b"WEBP" else "image/png"
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue(), "image/png"


def decoded(img: Image.Image | bytes) -> Image.Image:
    """An image, from a file's bytes if need be, in RGB."""
    if isinstance(img, bytes):
        with Image.open(io.BytesIO(img)) as opened:
            return opened.convert("RGB")
    return img


def png_data_url(img: Image.Image | bytes) -> str:
    data, media = encoded(img)
    return f"data:{media};base64," + base64.b64encode(data).decode("ascii")
