"""Text read from page images with OCR: RapidOCR and the PP-OCR models its PyPI package ships (the ``ocr``
extra: ``pip install 'glyphpress[ocr]'``; nothing is downloaded), for pages that have no text of their own
(photographs, screenshots, scans, PDFs without a text layer).

``read_lines`` gives a page's lines, each with its box, in reading order: columns (a vertical gap through
every line beside it) one after another, lines top to bottom, pieces of one line joined left to right.
``to_document`` gathers pages of lines into a Document of paragraphs (from the gaps between lines) and
headings (lines much taller than the page's text), each block with its page and box.

How a page is read: as it is, never enlarged first (PP-OCR reads text 9 pixels high), shrunk by RapidOCR to
``MAX_SIDE`` pixels on its long side (its default: a full page at 150 dpi reads whole, and a larger photo
costs more time without reading better), lines taken as drawn (upright: the angle classifier turns some
upright lines upside down, and a photo's EXIF orientation is applied before reading).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import statistics
from dataclasses import dataclass

from PIL import Image

from ..errors import InputError
from .lines import rejoin, unspaced
from .model import HEADING, PARAGRAPH, Block, Document, Span

MAX_SIDE = 2000  # pixels: RapidOCR shrinks a larger page to this long side before finding its lines
INSTALL_HINT = "install glyphpress[ocr] to read it with RapidOCR"


@dataclass(frozen=True)
class Line:
    """A line of text as read: its text, its box (x0, top, x1, bottom, in pixels of the image read) and
    the reader's confidence (0-1)."""

    text: str
    box: tuple[float, float, float, float]
    score: float = 1.0

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def available() -> bool:
    """Whether the OCR extra is installed (RapidOCR and onnxruntime)."""
    try:
        return all(importlib.util.find_spec(m) is not None for m in ("rapidocr", "onnxruntime"))
    except (ImportError, ValueError):
        return False


@functools.lru_cache(maxsize=1)
def _engine():
    """The RapidOCR engine, made once per process (loading its models takes about a second)."""
    try:
        from rapidocr import RapidOCR
    except ImportError:
        raise InputError(f"OCR is not installed; {INSTALL_HINT}") from None
    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    return RapidOCR(params={"Global.max_side_len": MAX_SIDE, "Global.log_level": "warning"})


def read_lines(image: Image.Image) -> list[Line]:
    """The lines of text on ``image``, in reading order (see the module's docstring)."""
    import numpy as np

    img = image if image.mode == "RGB" else image.convert("RGB")
    engine = _engine()
    try:
        out = engine(np.asarray(img), use_cls=False)
    except Exception as e:  # onnxruntime's errors come wrapped, a traceback in their message
        if "bad_alloc" in str(e) or isinstance(e, MemoryError):
            raise MemoryError from None
        raise InputError("OCR failed (" + " ".join(str(e).split()[-12:]) + ")") from None
    if out.txts is None or out.boxes is None:
        return []
    pieces = []
    for text, quad, score in zip(out.txts, out.boxes, out.scores):
        text = " ".join(str(text).split())
        if not text:
            continue
        xs, ys = [float(p[0]) for p in quad], [float(p[1]) for p in quad]
        pieces.append(Line(text, (min(xs), min(ys), max(xs), max(ys)), float(score)))
    return reading_order(pieces)


def reading_order(pieces: list[Line]) -> list[Line]:
    """Pieces of text (as OCR finds them, in any order) as lines in reading order: an XY cut that splits a
    group of pieces into columns where a vertical gap runs through all of them and both sides hold lines of
    prose, else into bands at its widest horizontal gaps; what cannot be cut is one or more rows, each read
    left to right and joined into one line."""
    out: list[Line] = []
    for row in _cut(pieces, 0):
        out.append(_join(row))
    return out


MAX_DEPTH = 60  # cuts within cuts: past this, what is left is read in rows


def _cut(items: list[Line], depth: int) -> list[list[Line]]:
    if len(items) <= 1:
        return [items] if items else []
    h = statistics.median(i.height for i in items) or 1.0
    if depth < MAX_DEPTH:
        x = _column_gap(items, h)
        if x is not None:
            return (_cut([i for i in items if i.box[2] <= x], depth + 1)
                    + _cut([i for i in items if i.box[2] > x], depth + 1))
        bands = _bands(items, h)
        if len(bands) > 1:
            return [row for band in bands for row in _cut(band, depth + 1)]
    return _rows(items)


def _column_gap(items: list[Line], h: float) -> float | None:
    """Where a gap at least 1.2 line heights wide runs down through all ``items`` with lines of prose (each
    side's lines mostly over six line heights wide, at least two of them) on both sides: the widest such."""
    spans = sorted((i.box[0], i.box[2]) for i in items)
    best, best_w = None, 1.2 * h
    reach = spans[0][1]
    for x0, x1 in spans[1:]:
        if x0 - reach >= best_w:
            left = [i for i in items if i.box[2] <= reach]
            right = [i for i in items if i.box[0] >= x0]
            if _prose(left, h) and _prose(right, h):
                best, best_w = reach, x0 - reach
        reach = max(reach, x1)
    return best


def _prose(items: list[Line], h: float) -> bool:
    return len(items) >= 2 and statistics.median(i.box[2] - i.box[0] for i in items) >= 6 * h


def _bands(items: list[Line], h: float) -> list[list[Line]]:
    """``items`` split at their widest horizontal gaps (those within a quarter line of the widest: lines set
    evenly split all at once)."""
    order = sorted(items, key=lambda i: i.box[1])
    gaps = []  # (gap, index of the first item below it)
    bottom = order[0].box[3]
    for k, it in enumerate(order[1:], 1):
        if it.box[1] > bottom:
            gaps.append((it.box[1] - bottom, k))
        bottom = max(bottom, it.box[3])
    if not gaps:
        return [items]
    widest = max(g for g, _ in gaps)
    cuts = [k for g, k in gaps if g >= widest - max(2.0, 0.25 * h)]
    return [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)])]


def _rows(items: list[Line]) -> list[list[Line]]:
    """Pieces that overlap in height as rows, top to bottom: a piece joins the row whose height it mostly
    shares."""
    rows: list[list[Line]] = []
    for it in sorted(items, key=lambda i: (i.box[1] + i.box[3]) / 2):
        if rows:
            top, bottom = min(r.box[1] for r in rows[-1]), max(r.box[3] for r in rows[-1])
            overlap = min(bottom, it.box[3]) - max(top, it.box[1])
            if overlap >= 0.5 * min(it.height, bottom - top):
                rows[-1].append(it)
                continue
        rows.append([it])
    return [sorted(r, key=lambda i: i.box[0]) for r in rows]


def _join(row: list[Line]) -> Line:
    text = row[0].text
    for it in row[1:]:
        text += it.text if unspaced(text[-1]) and unspaced(it.text[0]) else " " + it.text
    box = (min(i.box[0] for i in row), min(i.box[1] for i in row), max(i.box[2] for i in row),
           max(i.box[3] for i in row))
    return Line(text, box, min(i.score for i in row))


def page_text(lines: list[Line]) -> str:
    """A page's text as accounting counts it: one line a line (an empty page is one newline, as a PDF's)."""
    return "\n".join(line.text for line in lines) + "\n"


_SENTENCE_END = tuple(".!?:;\"'”’»)]。！？：；」』）")
_ITEM_START = ("•", "◦", "▪", "●", "○", "■", "□", "‣", "–", "- ", "* ")


def to_document(name: str, pages: list[list[Line]], fmt: str) -> Document:
    """Pages of lines (in reading order) as a Document. Its source is each page's ``page_text``, so that a
    block's range indexes the same text raster pages are counted on; blocks are paragraphs and headings with
    their page (1-based) and box (the lines' boxes: pixels of an image, points of a PDF's page).

    A paragraph ends where the next line is further down than usual (more than 1.6 times the page's usual
    step from line to line, the lower quartile of its steps, or 1.3 times after a sentence's end), after a
    short line that ends a sentence, before a line that is indented after a sentence's end or starts with a
    bullet, and where reading jumps up (to the next column) after a sentence's end. A short line at least 1.4
    times as tall as the page's usual line, not ending a sentence, is a heading (level 1 from twice as tall,
    2 from 1.6 times, else 3)."""
    texts: list[str] = []
    blocks: list[Block] = []
    pos = 0
    for number, lines in enumerate(pages, 1):
        heights = [ln.height for ln in lines]
        h = statistics.median(heights) if heights else 1.0
        steps = sorted(b.box[1] - a.box[1] for a, b in zip(lines, lines[1:]) if 0 < b.box[1] - a.box[1] < 3 * h)
        step = steps[len(steps) // 4] if steps else 1.5 * h  # the step within a paragraph: the most common, and
        # the smallest (gaps between paragraphs and round headings are larger)
        widths = sorted(ln.box[2] - ln.box[0] for ln in lines)
        full = widths[len(widths) * 4 // 5] if widths else 0.0
        para: list[Line] = []
        start = pos

        for line in lines:
            here = pos
            texts.append(line.text + "\n")
            pos += len(line.text) + 1
            text = line.text.strip()
            ends = text.endswith(_SENTENCE_END)
            heading = (line.height >= 1.4 * h and len(text) < 100 and sum(c.isalpha() for c in text) >= 2
                       and not ends)
            if para:
                prev = para[-1]
                down = line.box[1] - prev.box[1]
                after_end = prev.text.rstrip().endswith(_SENTENCE_END)
                short = prev.box[2] - prev.box[0] < 0.6 * full
                indented = line.box[0] - min(p.box[0] for p in para) >= 1.2 * h
                if (heading or down > 1.6 * step or (down > 1.3 * step and after_end) or (short and after_end)
                        or (after_end and (indented or down < 0)) or text.startswith(_ITEM_START)):
                    _close(blocks, para, start, here, number)
                    para = []
            if heading:
                ratio = line.height / h
                level = 1 if ratio >= 2 else 2 if ratio >= 1.6 else 3
                blocks.append(Block(HEADING, [Span(text)], here, pos, level=level, page=number,
                                    box=line.box))
                continue
            if not para:
                start = here
            para.append(line)
        if not lines:  # an empty page still has its newline
            texts.append("\n")
            pos += 1
        _close(blocks, para, start, pos, number)
    return Document(name, "".join(texts), blocks, fmt)


def _close(blocks: list[Block], para: list[Line], start: int, end: int, page: int) -> None:
    """A paragraph of ``para``'s lines (if any) added to ``blocks``."""

    if para:
        blocks.append(Block(PARAGRAPH, [Span(rejoin([p.text for p in para]))], start, end, page=page,
                            box=_union(para)))


def _union(lines: list[Line]) -> tuple[float, float, float, float]:
    return (min(ln.box[0] for ln in lines), min(ln.box[1] for ln in lines), max(ln.box[2] for ln in lines),
            max(ln.box[3] for ln in lines))
