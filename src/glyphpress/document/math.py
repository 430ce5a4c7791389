"""LaTeX math typeset as ink images with matplotlib's mathtext (pure Python, in the main install):
fractions, sub/superscripts, integrals, sums, Greek, roots, accents, and matrices (pmatrix, bmatrix,
vmatrix, matrix), which this module lays out cell by cell. A formula
that cannot be parsed returns None: the caller shows its source and goes on."""

from __future__ import annotations

import functools
import re

import numpy as np
from PIL import Image, ImageDraw

from ..layout.flow import InlineObject

_MATRIX = re.compile(r"\\begin\{([pbvBV]?matrix)\}(.*?)\\end\{\1\}", re.S)
_UNSUPPORTED = re.compile(r"\\(begin|end|label|tag|nonumber|notag)\b")


@functools.lru_cache(maxsize=1)
def _parser():
    try:
        from matplotlib.mathtext import MathTextParser
    except ImportError:
        return None
    return MathTextParser("agg")


def available() -> bool:
    return _parser() is not None


def _clean(tex: str) -> str:
    tex = tex.strip()
    tex = re.sub(r"\\(displaystyle|textstyle|left|right|big|Big|bigg|Bigg)(?![a-zA-Z])", "", tex)
    tex = tex.replace("\\\\", " ").replace("&", " ") if not _MATRIX.search(tex) else tex
    tex = re.sub(r"\\(operatorname|mathrm|text|textrm|mbox)\s*\{([^{}]*)\}", r"\\mathrm{\2}", tex)
    return tex


@functools.lru_cache(maxsize=4096)
def _plain(tex: str, size_px: float) -> tuple[np.ndarray, int] | None:
    """(ink, depth) of a formula without matrices, or None if mathtext cannot parse it."""
    parser = _parser()
    if parser is None or not tex.strip() or _UNSUPPORTED.search(tex):
        return None
    from matplotlib.font_manager import FontProperties

    try:
        r = parser.parse(f"${tex}$", dpi=72, prop=FontProperties(size=size_px))
    except Exception:  # mathtext raises ValueError and parser exceptions of its own
        return None
    ink = np.asarray(r.image, dtype=np.uint8)
    if ink.size == 0:
        return None
    return ink, int(round(r.depth))


def _hstack(parts: list[tuple[np.ndarray, int]], gap: int) -> tuple[np.ndarray, int]:
    up = max(a.shape[0] - d for a, d in parts)
    down = max(d for _, d in parts)
    width = sum(a.shape[1] for a, _ in parts) + gap * (len(parts) - 1)
    out = np.zeros((up + down, width), dtype=np.uint8)
    x = 0
    for a, d in parts:
        y = up - (a.shape[0] - d)
        out[y: y + a.shape[0], x: x + a.shape[1]] = np.maximum(out[y: y + a.shape[0], x: x + a.shape[1]], a)
        x += a.shape[1] + gap
    return out, down


def _matrix(kind: str, body: str, size_px: float) -> tuple[np.ndarray, int] | None:
    rows = [r for r in re.split(r"\\\\", body) if r.strip()]
    cells = [[_plain(c.strip() or r"\,", size_px) for c in row.split("&")] for row in rows]
    if not cells or any(c is None for row in cells for c in row):
        return None
    n_cols = max(len(r) for r in cells)
    pad = max(2, round(size_px * 0.6))
    col_w = [max((r[i][0].shape[1] for r in cells if i < len(r)), default=0) for i in range(n_cols)]
    row_up = [max(a.shape[0] - d for a, d in r) for r in cells]
    row_down = [max(d for _, d in r) for r in cells]
    gap = max(1, round(size_px * 0.25))
    inner_w = sum(col_w) + pad * (n_cols - 1)
    inner_h = sum(u + d for u, d in zip(row_up, row_down)) + gap * (len(rows) - 1)
    fence = max(3, round(size_px * 0.45)) if kind != "matrix" else 0
    img = Image.new("L", (inner_w + 2 * fence + 2, inner_h + 2), 0)
    canvas = np.zeros((img.height, img.width), dtype=np.uint8)
    y = 1
    for r, row in enumerate(cells):
        x = fence + 1
        for i, (a, d) in enumerate(row):
            top = y + row_up[r] - (a.shape[0] - d)
            left = x + (col_w[i] - a.shape[1]) // 2
            canvas[top: top + a.shape[0], left: left + a.shape[1]] = a
            x += col_w[i] + pad
        y += row_up[r] + row_down[r] + gap
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    h, w = img.height - 1, img.width - 1
    if kind == "pmatrix":
        draw.arc((0, 0, 2 * fence, h), 100, 260, fill=255)
        draw.arc((w - 2 * fence, 0, w, h), -80, 80, fill=255)
    elif kind in ("bmatrix", "Bmatrix"):
        draw.line([(fence - 1, 0), (0, 0), (0, h), (fence - 1, h)], fill=255)
        draw.line([(w - fence + 1, 0), (w, 0), (w, h), (w - fence + 1, h)], fill=255)
    elif kind in ("vmatrix", "Vmatrix"):
        draw.line([(1, 0), (1, h)], fill=255)
        draw.line([(w - 1, 0), (w - 1, h)], fill=255)
    ink = np.asarray(img)
    return ink, ink.shape[0] // 2 - round(size_px * 0.3)


def typeset(tex: str, size_px: float) -> InlineObject | None:
    """The formula as ink (an ``L`` image) with its depth below the baseline, or None."""
    tex = _clean(tex)
    parts: list[tuple[np.ndarray, int]] = []
    pos = 0
    for m in _MATRIX.finditer(tex):
        before = tex[pos: m.start()].strip()
        if before:
            p = _plain(before, size_px)
            if p is None:
                return None
            parts.append(p)
        mat = _matrix(m.group(1), m.group(2), size_px)
        if mat is None:
            return None
        parts.append(mat)
        pos = m.end()
    rest = tex[pos:].strip()
    if rest or not parts:
        p = _plain(rest, size_px)
        if p is None:
            return None
        parts.append(p)
    ink, depth = parts[0] if len(parts) == 1 else _hstack(parts, max(1, round(size_px * 0.2)))
    return InlineObject(Image.fromarray(ink, "L"), depth)
