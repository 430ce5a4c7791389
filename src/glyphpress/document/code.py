"""Source code: a file becomes one code block; syntax colours come from Pygments."""

from __future__ import annotations

import functools
from pathlib import Path

from .model import CODE_BLOCK, Block, Document, Span

# a light, legible palette (Pygments' "default" style), darkened where it is too pale for 72 dpi
_STYLE = "default"


def language_for(name: str, text: str = "") -> str | None:
    from pygments.lexers import guess_lexer_for_filename
    from pygments.util import ClassNotFound

    try:
        return guess_lexer_for_filename(name, text[:4096]).aliases[0]
    except ClassNotFound:
        return None


def is_code_file(name: str) -> bool:
    suffix = Path(name).suffix.lower()
    if suffix in ("", ".txt", ".md", ".markdown", ".text", ".log", ".csv", ".tsv"):
        return False
    return language_for(name) is not None


def parse_code(source: str, name: str = "code.txt", lang: str | None = None) -> Document:
    lang = lang or language_for(name, source)
    return Document(name, source, [Block(CODE_BLOCK, [Span(source.rstrip("\n"))], 0, len(source), lang=lang)], "code")


@functools.lru_cache(maxsize=32)
def _lexer(lang: str):
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(lang, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


@functools.lru_cache(maxsize=1)
def _colours() -> dict:
    from pygments.styles import get_style_by_name

    style = get_style_by_name(_STYLE)
    return {tt: (f"#{d['color']}" if d["color"] else None) for tt, d in style}


def highlight(code: str, lang: str | None) -> list[Span]:
    """Spans whose texts concatenate to ``code`` exactly, coloured by token type."""
    lexer = _lexer(lang) if lang else None
    if lexer is None:
        return [Span(code)]
    colours = _colours()
    resolved: dict = {}  # token type -> colour (its own, or its nearest ancestor's)
    runs: list[tuple[str | None, list[str]]] = []
    for tt, value in lexer.get_tokens(code):
        colour = resolved.get(tt, False)
        if colour is False:
            t, colour = tt, None
            while t is not None and colour is None:
                colour = colours.get(t)
                t = t.parent
            resolved[tt] = colour
        if runs and runs[-1][0] == colour:
            runs[-1][1].append(value)
        else:
            runs.append((colour, [value]))
    spans = [Span("".join(parts), color=colour) for colour, parts in runs]
    if "".join(s.text for s in spans) != code:  # never change the text, whatever the lexer did
        return [Span(code)]
    return spans
