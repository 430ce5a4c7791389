"""PDF, two ways: ``rerender`` extracts the text layer (reading order, headings by font size,
paragraphs rejoined, hyphenation undone) into a Document that is rendered compactly under θ;
``raster`` keeps the original pages, rasterised at a chosen dpi when they are read, one at a time.
Both keep the text for accounting."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field

from PIL import Image

from ..errors import InputError
from .limits import stream_with_time_limit
from .model import HEADING, LIST_ITEM, PARAGRAPH, TABLE, Block, Document, Span

MAX_PAGES = 2000
MAX_PAGE_POINTS = 14400  # a page side over 200 inches is not a document page
MAX_RASTER_PIXELS = 64_000_000


@dataclass
class Limits:
    max_pages: int = MAX_PAGES
    max_page_points: float = MAX_PAGE_POINTS
    max_raster_pixels: int = MAX_RASTER_PIXELS


@dataclass
class RasterDocument:
    """A PDF's pages as they are, with each page's text for token accounting and its size in pixels at
    ``dpi``. The images are made when they are read (``images()``): one at a time, in a child process
    under the parse time limit, so that memory does not grow with the number of pages. ``pdf`` is the
    file's path (pdfium reads it as it goes: memory does not grow with the file either) or its bytes."""

    name: str
    source: str
    page_ranges: list[tuple[int, int]]
    sizes: list[tuple[int, int]]
    dpi: float
    pdf: bytes | str = field(repr=False, default=b"")
    password: str | None = None
    time_limit: float | None = None  # seconds allowed for each page
    memory_mb: int | None = None  # memory the child drawing the pages may use
    format: str = "pdf-raster"
    warnings: list[str] = field(default_factory=list)

    def images(self) -> Iterator[Image.Image]:
        for mode, size, raw in stream_with_time_limit(self.time_limit, self.name, _rendered_pages, self.pdf,
                                                      self.name, self.password, self.dpi, memory_mb=self.memory_mb):
            yield Image.frombytes(mode, size, raw)


REOPEN_PAGES = 50  # pdfium keeps what it decoded of every page read until the document closes


def _rendered_pages(data: bytes | str, name: str, password: str | None, dpi: float) -> Iterator[tuple]:
    limits = Limits(max_pages=10**9, max_page_points=float("inf"))
    pdf = _open(data, name, password, limits)
    try:
        for i in range(len(pdf)):
            if i and i % REOPEN_PAGES == 0:
                pdf.close()
                pdf = _open(data, name, password, limits)
            img = pdf[i].render(scale=dpi / 72).to_pil().convert("RGB")
            yield img.mode, img.size, img.tobytes()
            del img
    finally:
        pdf.close()


def _open(data: bytes | str, name: str, password: str | None, limits: Limits):
    """A PDF from its bytes or its file's path, checked against ``limits``."""
    try:
        import pypdfium2 as pdfium
    except ImportError:
        raise InputError("PDF input needs pypdfium2: pip install 'glyphpress[pdf]'") from None
    try:
        pdf = pdfium.PdfDocument(data, password=password)
    except pdfium.PdfiumError as e:
        msg = str(e).lower()
        if "password" in msg:
            raise InputError(f"{name}: encrypted PDF; " + ("wrong password" if password else
                                                             "give its password with --password")) from None
        raise InputError(f"{name}: not a readable PDF ({e})") from None
    n = len(pdf)
    if n == 0:
        raise InputError(f"{name}: PDF has no pages")
    if n > limits.max_pages:
        raise InputError(f"{name}: {n} pages, over the limit of {limits.max_pages} (raise it with --max-pages)")
    for i in range(n):
        w, h = pdf.get_page_size(i)
        if max(w, h) > limits.max_page_points:
            raise InputError(f"{name}: page {i + 1} is {w:.0f}x{h:.0f} points, over the limit of "
                             f"{limits.max_page_points:.0f} points a side")
    return pdf


def _page_lines(page) -> list[tuple[str, float, float, list[str], float]]:
    """(text, mean font size, top y, cells, left x) of each line of a page's text layer, in pdfium's reading
    order; ``cells`` splits the line where its characters leave a gap of two em or more (table columns)."""
    import ctypes

    import pypdfium2.raw as raw

    tp = page.get_textpage()
    n = tp.count_chars()
    text = tp.get_text_range(0, n) if n else ""
    m = min(n, len(text))
    sizes = [raw.FPDFText_GetFontSize(tp.raw, i) for i in range(m)]
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    refs = [ctypes.byref(v) for v in (left, right, bottom, top)]
    lines = []
    pos = 0
    for line in text.replace("\r\n", "\n").split("\n"):
        # pdfium emits "\r\n" as two characters; sizes and boxes follow the characters of the raw text
        seg = [s for s in sizes[pos: pos + len(line)] if s > 1]
        size = statistics.fmean(seg) if seg else 0.0
        y = x = 0.0
        cells: list[str] = []
        cell = ""
        prev_right = None
        for k, ch in enumerate(line):
            i = pos + k
            if ch.isspace() or i >= m or not raw.FPDFText_GetCharBox(tp.raw, i, *refs):
                cell += ch
                continue
            if not y:
                y, x = top.value, left.value
            if prev_right is not None and size and left.value - prev_right > 2 * size and cell.strip():
                cells.append(cell.strip())
                cell = ""
            cell += ch
            prev_right = right.value
        if cell.strip():
            cells.append(cell.strip())
        clean = line.replace("\ufffe", "").replace("\x02", "")
        lines.append((clean, size, y, [c.replace("\ufffe", "") for c in cells], x))
        pos += len(line) + 2
    tp.close()
    return lines


_BULLETS = "•◦▪▫●○■□‣⁃∙·–-*"
_ITEM = re.compile(r"([•◦▪▫●○■□‣⁃∙·–*-]|\(?\d{1,2}[.)]|\(?[a-z][.)]|\(?[ivx]{1,4}[.)])\s+(?=\S)")
_SENTENCE_END = tuple(".!?:;\"'”’»)]。！？：；」』）")


def _ends_sentence(para: list[str]) -> bool:
    return not para or para[-1].rstrip().endswith(_SENTENCE_END)


def _unspaced(ch: str) -> bool:
    """Characters of scripts written without spaces between words (Chinese, Japanese; their punctuation
    and full-width forms), between which a line end is no word break."""
    o = ord(ch)
    return (0x3000 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF
            or 0xFF00 <= o <= 0xFFEF or 0x20000 <= o <= 0x3FFFF)


def _rejoin(lines: list[str]) -> str:
    """A paragraph's lines as one text: a space at each line end, except inside a hyphenated word and
    between two characters of scripts that put no spaces between words."""
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if out.endswith("-") and len(out) > 1 and out[-2].isalpha() and line[:1].islower():
            out = out[:-1] + line  # hyphenation at a line end
        elif out and _unspaced(out[-1]) and _unspaced(line[0]):
            out += line
        else:
            out = f"{out} {line}" if out else line
    return out


def _table(blocks: list[Block], rows: list[list[str]], start: int, end: int) -> None:
    """Rows of cells become a table when there are at least two; a lone row is a paragraph."""
    if len(rows) < 2:
        blocks.append(Block(PARAGRAPH, [Span("  ".join(rows[0]))], start, end))
        return
    cells = [[[Span(c)] for c in row] for row in rows]
    blocks.append(Block(TABLE, [], start, end, rows=cells, header_rows=1 if len(rows) > 2 else 0))


def parse_pdf(data: bytes | str, name: str = "document.pdf", password: str | None = None,
              limits: Limits | None = None) -> Document:
    """The text layer as a Document: headings by font size, paragraphs rejoined."""
    limits = limits or Limits()
    pdf = _open(data, name, password, limits)
    pages = [_page_lines(pdf[i]) for i in range(len(pdf))]
    pdf.close()
    sizes = [s for page in pages for line, s, *_ in page for _ in line if s > 0]
    body = statistics.median(sizes) if sizes else 0.0
    source_parts: list[str] = []
    blocks: list[Block] = []
    pos = 0
    for number, page in enumerate(pages, 1):
        first_block = len(blocks)
        tops = [top for line, _, top, *_ in page if line.strip()]
        steps = sorted(a - b for a, b in zip(tops, tops[1:]) if a - b > 0)
        step = steps[len(steps) // 2] if steps else 0.0  # the usual distance between lines
        widths = sorted(len(line.strip()) for line, *_ in page if line.strip())
        full = widths[len(widths) // 2] if widths else 0  # the usual line length: shorter lines end something
        para: list[str] = []
        para_start = pos
        marker = ""  # the current block is a list item with this bullet or number
        item_left = 0.0  # where its bullet or number stands: a line starting there or further left ends it

        def close(begin: int, end: int) -> None:
            nonlocal para, marker
            if para:
                kind, level = (LIST_ITEM, 1) if marker else (PARAGRAPH, 0)
                blocks.append(Block(kind, [Span(_rejoin(para))], begin, end, level=level, marker=marker))
            para, marker = [], ""

        prev_top = None
        table: list[list[str]] = []
        table_start = pos
        for line, size, top, cells, left in page:
            start = pos
            pos += len(line) + 1
            source_parts.append(line + "\n")
            stripped = line.strip()
            if len(cells) >= 2:  # a row of a table: cells stay cells
                close(para_start, start)
                if not table:
                    table_start = start
                table.append(cells)
                prev_top = top
                continue
            if table:
                _table(blocks, table, table_start, start)
                table = []
            is_heading = bool(stripped) and body > 0 and size >= 1.25 * body and len(stripped) < 200
            item = _ITEM.match(stripped) if not is_heading else None
            # a gap ends a paragraph where the line before ends a sentence or is short (a heading), or where it
            # is wide (a line the text layer already joined to the one before, de-hyphenated, leaves a gap of
            # two lines in the middle of a sentence)
            gap = prev_top is not None and step > 0 and (prev_top - top > 2.6 * step or (
                prev_top - top > 1.3 * step and (_ends_sentence(para) or len(para[-1]) < 0.7 * full)))
            unindented = bool(marker) and left <= item_left + 0.3 * max(size, 1.0)  # back at the list's margin
            if para and (not stripped or is_heading or gap or item or unindented):
                close(para_start, start)
            if stripped:
                prev_top = top
            if is_heading:
                level = 1 if size >= 1.8 * body else 2 if size >= 1.4 * body else 3
                blocks.append(Block(HEADING, [Span(stripped)], start, pos, level=level))
                continue
            if item:  # a bulleted or numbered line starts a list item; the lines after it continue it
                marker = "•" if item.group(1) in _BULLETS else item.group(1)
                item_left = left
                stripped = stripped[item.end():]
            if stripped:
                if not para:
                    para_start = start
                para.append(stripped)
        if table:
            _table(blocks, table, table_start, pos)
        close(para_start, pos)
        for b in blocks[first_block:]:
            b.page = number
    source = "".join(source_parts)
    if not source.strip():
        raise InputError(f"{name}: the PDF has no text layer (scanned?); use raster mode")
    return Document(name, source, blocks, "pdf")


def raster_pdf(data: bytes | str, name: str = "document.pdf", dpi: float = 72, password: str | None = None,
               limits: Limits | None = None, time_limit: float | None = None,
               memory_mb: int | None = None) -> RasterDocument:
    """The pages (of a PDF's bytes or file), to be rasterised at ``dpi`` when read, with their text layer
    for accounting."""
    limits = limits or Limits()
    pdf = _open(data, name, password, limits)
    ranges, parts, sizes = [], [], []
    pos = 0
    scale = dpi / 72
    for i in range(len(pdf)):
        if i and i % REOPEN_PAGES == 0:  # pdfium's memory stays flat, whatever the page count
            pdf.close()
            pdf = _open(data, name, password, limits)
        page = pdf[i]
        w, h = page.get_size()
        size = (math.ceil(w * scale), math.ceil(h * scale))  # as pdfium renders it
        if size[0] * size[1] > limits.max_raster_pixels:
            raise InputError(f"{name}: page {i + 1} at {dpi} dpi would be {size[0] * size[1] / 1e6:.0f} megapixels, "
                             f"over the limit of {limits.max_raster_pixels / 1e6:.0f}; lower the dpi")
        sizes.append(size)
        text = "\n".join(line for line, *_ in _page_lines(page)) + "\n"
        parts.append(text)
        ranges.append((pos, pos + len(text)))
        pos += len(text)
    pdf.close()
    return RasterDocument(name, "".join(parts), ranges, sizes, dpi, data, password, time_limit, memory_mb)
