"""Ingestion: every format becomes the same Document of blocks (see model.py)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .code import is_code_file, parse_code
from .markdown import parse_markdown
from .model import PARAGRAPH, TITLE, Block, Document, Span

FORMATS = ("auto", "text", "markdown", "code")
MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")


def detect_format(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if is_code_file(name):
        return "code"
    return "text"


def parse_text(source: str, name: str = "text") -> Document:
    """Plain text as a document: one paragraph per line (used in bundles)."""
    blocks, pos = [], 0
    for line in source.split("\n"):
        blocks.append(Block(PARAGRAPH, [Span(line)], pos, pos + len(line) + 1))
        pos += len(line) + 1
    blocks[-1].end = len(source)
    return Document(name, source, blocks, "text")


def load_document(source: str, name: str, fmt: str = "auto") -> Document | str:
    """Plain text stays a string (the fast path); other formats become a Document."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "auto":
        fmt = detect_format(name)
    if fmt == "markdown":
        return parse_markdown(source, name)
    if fmt == "code":
        return parse_code(source, name)
    return source


def bundle(docs: list[Document | str], names: list[str]) -> Document:
    """Several documents as one context, each behind a title bar; ``parts`` has each one's source range."""
    parts: list[str] = []
    blocks: list[Block] = []
    ranges: list[tuple[str, int, int]] = []
    pos = 0
    for doc, name in zip(docs, names):
        d = doc if isinstance(doc, Document) else parse_text(doc, name)
        blocks.append(Block(TITLE, [Span(name)], pos, pos))
        for b in d.blocks:
            blocks.append(Block(b.kind, b.spans, b.start + pos, b.end + pos, b.level, b.marker, b.lang, b.rows,
                                b.header_rows, b.aligns))
        ranges.append((name, pos, pos + len(d.source)))
        parts.append(d.source)
        pos += len(d.source)
        if not d.source.endswith("\n"):
            parts.append("\n")
            pos += 1
    return Document("bundle", "".join(parts), blocks, "bundle", ranges)


__all__ = ["Document", "Block", "Span", "load_document", "bundle", "detect_format", "parse_markdown",
           "parse_code", "parse_text", "FORMATS"]
