"""PDF, two ways: ``rerender`` extracts the text layer (reading order, headings by font size,
paragraphs rejoined, hyphenation undone) into a Document that is rendered compactly under θ;
``raster`` keeps the original pages, rasterised at a chosen dpi when they are read, one at a time.
Both keep the text for accounting."""

from __future__ import annotations

import functools
import math
import re
import statistics
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from PIL import Image

from ..errors import InputError, NoTextLayer
from . import pdffonts
from .limits import stream_with_time_limit
from .lines import ends_sentence, rejoin
from .model import CODE_BLOCK, HEADING, LIST_ITEM, PARAGRAPH, TABLE, Block, Document, Span
from .pdflayout import RULE_THICK, Char, Piece, Rule, Table, layout, rotate
from .pdflayout import Page as PageLayout

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
    pdffonts.install()  # CJK text the PDF does not embed a font for is drawn with the bundled font
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
        try:
            w, h = pdf.get_page_size(i)
        except pdfium.PdfiumError as e:
            pdf.close()
            raise InputError(f"{name}: page {i + 1} cannot be read ({e})") from None
        if max(w, h) > limits.max_page_points:
            raise InputError(f"{name}: page {i + 1} is {w:.0f}x{h:.0f} points, over the limit of "
                             f"{limits.max_page_points:.0f} points a side")
    return pdf


BIDI_CONTROLS = set("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
MONO_NAMES = ("mono", "courier", "consol", "menlo", "code", "typewriter", "cmtt", "sfmono", "inconsolata")


BOLD_NAMES = ("bold", "black", "heavy", "semibold", "demi")


STANDARD_FONTS = ("helvetica", "arial", "times", "courier", "symbol", "zapfdingbats")  # pdfium has their like


def _object_style(obj) -> tuple[bool, bool, bool]:
    """Of a text object: whether its font is monospaced (its fixed-pitch flag, or a monospaced family's name),
    whether it is bold (its weight, its force-bold flag or its name), and whether its text may not be drawn
    as the text layer says (invisible, or in a font the PDF does not embed and pdfium may not have)."""
    import ctypes

    import pypdfium2.raw as raw

    font = raw.FPDFTextObj_GetFont(obj) if obj else None
    if not font:
        return False, False, False
    flags = ctypes.c_int()
    flags = flags.value if raw.FPDFFont_GetFlags(font, ctypes.byref(flags)) else 0
    buf = ctypes.create_string_buffer(128)
    n = raw.FPDFFont_GetBaseFontName(font, buf, 128)
    name = buf.raw[:max(n - 1, 0)].decode("latin-1").lower()
    invisible = raw.FPDFTextObj_GetTextRenderMode(obj) == raw.FPDF_TEXTRENDERMODE_INVISIBLE
    # an invisible text layer (OCR's, over a scan) says nothing of how the text looks: never code
    mono = not invisible and (bool(flags & 1) or any(k in name for k in MONO_NAMES))
    bold = bool(flags & (1 << 18)) or raw.FPDFFont_GetWeight(font) >= 600 or any(k in name for k in BOLD_NAMES)
    unsure = invisible or (not raw.FPDFFont_GetIsEmbedded(font) and not name.split("+")[-1].startswith(STANDARD_FONTS))
    return mono, bold, unsure


@dataclass
class _TextLayer:
    chars: list[Char]
    unmapped: int = 0  # characters with no Unicode value (a font without its ToUnicode map)
    unsure: bool = False  # some text may not be drawn as the layer says (see _object_style)


@functools.cache
def _object_address():
    """pdfium's FPDFText_GetTextObject answering the object's address as an int (a key for a dict, without
    the cost of a typed pointer per character): the same C function, called through a prototype of our own."""
    import ctypes

    import pypdfium2.raw as raw

    address = ctypes.cast(raw.FPDFText_GetTextObject, ctypes.c_void_p).value
    return ctypes.CFUNCTYPE(ctypes.c_void_p, *raw.FPDFText_GetTextObject.argtypes)(address)


def _page_chars(page, origin: tuple[float, float], size: tuple[float, float]) -> _TextLayer:
    """The characters of a page's text layer in its order, with boxes measured from the top left; those
    outside the page (never shown) left out, control characters counted as unmapped, bidirectional
    overrides dropped (text never steers a terminal's or a reader's display)."""
    import ctypes

    import pypdfium2.raw as raw

    left, top = origin
    width, height = size
    tp = page.get_textpage()
    n = raw.FPDFText_CountChars(tp.raw)
    rect = raw.FS_RECTF()
    ox, oy = ctypes.c_double(), ctypes.c_double()
    styles: dict[int, tuple[bool, bool, bool, float]] = {}
    layer = _TextLayer([])
    chars = layer.chars
    matrix = raw.FS_MATRIX()
    object_of = _object_address()
    for i in range(n):
        code = raw.FPDFText_GetUnicode(tp.raw, i)
        if raw.FPDFText_HasUnicodeMapError(tp.raw, i) == 1:
            layer.unmapped += 1
        ch = chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else "\ufffe"
        if ch == "\x02":
            ch = "-"  # pdfium's mark for a hyphen that ends a line
        elif ch in BIDI_CONTROLS:
            continue
        elif ch not in "\t\n\r" and unicodedata.category(ch) == "Cc":
            layer.unmapped += 1
            ch = "\ufffe"
        if ch.isspace() or ch == "\ufffe" or not raw.FPDFText_GetLooseCharBox(tp.raw, i, rect):
            chars.append(Char(ch, 0, 0, 0, 0, 0, 0))
            continue
        if rect.right < left or rect.left > left + width or rect.bottom > top or rect.top < top - height:
            continue  # off the page
        raw.FPDFText_GetCharOrigin(tp.raw, i, ox, oy)
        key = object_of(tp.raw, i) or 0
        style = styles.get(key)
        if style is None:
            # one font and size per text object; the size drawn is the font size times the text matrix's
            # scale (a font set at size 1 and scaled)
            raw.FPDFText_GetMatrix(tp.raw, i, matrix)
            scale = math.hypot(matrix.c, matrix.d) or 1.0
            style = styles[key] = (*_object_style(raw.FPDFText_GetTextObject(tp.raw, i)),
                                   raw.FPDFText_GetFontSize(tp.raw, i) * scale)
        mono, bold, unsure, size = style
        layer.unsure = layer.unsure or unsure
        chars.append(Char(ch, rect.left - left, top - rect.top, rect.right - left, top - rect.bottom,
                          top - oy.value, size, mono, bold))
    tp.close()
    return layer


MAX_PATH_SEGMENTS = 200  # a path with more is a drawing (a chart, a figure), not rules


MAX_FORM_DEPTH = 4  # form XObjects nested deeper than this are not searched for rules
MAX_DRAWN_OBJECTS = 20_000  # nor are more objects than this on a page


def _page_rules(page, origin: tuple[float, float]) -> list[Rule]:
    """The straight lines of a page's drawing that may rule a table: thin paths, and the horizontal and
    vertical segments of paths with few segments (rectangles drawn round cells), in the page itself and in
    the form XObjects it draws (each form's matrix applied)."""
    import ctypes

    import pypdfium2.raw as raw

    left, top = origin
    rules: list[Rule] = []
    x, y = ctypes.c_float(), ctypes.c_float()
    bounds = [ctypes.c_float() for _ in range(4)]
    own = raw.FS_MATRIX()
    seen = 0

    def place(m: tuple, px: float, py: float) -> tuple[float, float]:
        """A point of the form space ``m`` maps to the page, measured from the top left."""
        a, b, c, d, e, f = m
        return a * px + c * py + e - left, top - (b * px + d * py + f)

    def path(obj, m: tuple) -> None:
        raw.FPDFPageObj_GetBounds(obj, *(ctypes.byref(v) for v in bounds))
        corners = [place(m, bx, by) for bx in (bounds[0].value, bounds[2].value)
                   for by in (bounds[1].value, bounds[3].value)]
        x0, x1 = min(p[0] for p in corners), max(p[0] for p in corners)
        y0, y1 = min(p[1] for p in corners), max(p[1] for p in corners)
        if min(x1 - x0, y1 - y0) <= RULE_THICK:
            rules.append(Rule(x0, y0, x1, y1))
            return
        count = raw.FPDFPath_CountSegments(obj)
        if not 0 < count <= MAX_PATH_SEGMENTS:
            return
        raw.FPDFPageObj_GetMatrix(obj, own)
        mine = _compose((own.a, own.b, own.c, own.d, own.e, own.f), m)
        points: list[list[tuple[float, float]]] = []  # subpaths of points on the page
        for k in range(count):
            seg = raw.FPDFPath_GetPathSegment(obj, k)
            raw.FPDFPathSegment_GetPoint(seg, ctypes.byref(x), ctypes.byref(y))
            p = place(mine, x.value, y.value)
            kind = raw.FPDFPathSegment_GetType(seg)
            if kind == raw.FPDF_SEGMENT_MOVETO or not points:
                points.append([p])
            elif kind == raw.FPDF_SEGMENT_LINETO:
                points[-1].append(p)
            else:
                points[-1] = [p]  # a curve: no rule through it
            if raw.FPDFPathSegment_GetClose(seg) and len(points[-1]) > 1:
                points[-1].append(points[-1][0])
        for sub in points:
            for (ax, ay), (bx, by) in zip(sub, sub[1:]):
                if abs(ay - by) < 1 and abs(ax - bx) >= 1:
                    rules.append(Rule(min(ax, bx), ay - 0.5, max(ax, bx), ay + 0.5))
                elif abs(ax - bx) < 1 and abs(ay - by) >= 1:
                    rules.append(Rule(ax - 0.5, min(ay, by), ax + 0.5, max(ay, by)))

    def walk(objects, m: tuple, depth: int) -> None:
        nonlocal seen
        for obj in objects:
            seen += 1
            if seen > MAX_DRAWN_OBJECTS:
                return
            kind = raw.FPDFPageObj_GetType(obj)
            if kind == raw.FPDF_PAGEOBJ_PATH:
                path(obj, m)
            elif kind == raw.FPDF_PAGEOBJ_FORM and depth < MAX_FORM_DEPTH:
                form = raw.FS_MATRIX()
                raw.FPDFPageObj_GetMatrix(obj, form)
                inner = _compose((form.a, form.b, form.c, form.d, form.e, form.f), m)
                walk((raw.FPDFFormObj_GetObject(obj, i) for i in range(raw.FPDFFormObj_CountObjects(obj))), inner,
                     depth + 1)

    n = raw.FPDFPage_CountObjects(page.raw)
    walk((raw.FPDFPage_GetObject(page.raw, i) for i in range(n)), (1.0, 0.0, 0.0, 1.0, 0.0, 0.0), 0)
    return rules


def _compose(inner: tuple, outer: tuple) -> tuple:
    """The affine matrix (a, b, c, d, e, f) that applies ``inner``, then ``outer``."""
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _page_layout(page, number: int = 0, warnings: list[str] | None = None) -> PageLayout:
    """A page's pieces of text and tables in reading order, as the page is shown (its /Rotate applied);
    what disagrees between its text layer and its drawing goes to ``warnings`` (one line per page)."""
    x0, y0, x1, y1 = page.get_bbox()
    width, height = x1 - x0, y1 - y0
    layer = _page_chars(page, (x0, y1), (width, height))
    rules = _page_rules(page, (x0, y1))
    turn = page.get_rotation()
    if turn:
        layer.chars, rules = rotate(layer.chars, rules, turn, width, height)
        if turn % 180:
            width, height = height, width
    if warnings is not None:
        warnings += _disagreements(page, layer, number)
    return layout(layer.chars, rules, width)


INK = 160  # a grey level darker than this is ink
CHECK_SCALE = 0.5  # pages are drawn this small (36 dpi) to see where the ink is


def _disagreements(page, layer: _TextLayer, number: int) -> list[str]:
    """Where a page's text layer and its drawing disagree: characters with no Unicode value (its text
    cannot be trusted: raster mode shows what is drawn), or text that is not drawn (a font the PDF does not
    embed and no fallback has, or invisible text with nothing under it: raster pages show blanks)."""
    import numpy as np

    out = []
    drawn = [c for c in layer.chars if c.x1 > c.x0]
    if layer.unmapped and layer.unmapped >= 0.2 * max(len(drawn), 1):
        out.append(f"page {number}: {layer.unmapped} of {len(layer.chars)} characters have no Unicode value; "
                   "its text layer is unreliable (raster mode shows the page as drawn)")
    if layer.unsure and drawn:
        ink = np.asarray(page.render(scale=CHECK_SCALE, grayscale=True).to_pil().convert("L")) < INK
        h, w = ink.shape
        sample = drawn[:: max(1, len(drawn) // 300)]
        seen = 0
        for c in sample:
            a, b = max(0, int(c.x0 * CHECK_SCALE)), min(w, int(c.x1 * CHECK_SCALE) + 1)
            t, u = max(0, int(c.top * CHECK_SCALE)), min(h, int(c.bottom * CHECK_SCALE) + 1)
            seen += bool(ink[t:u, a:b].any())
        if seen < 0.5 * len(sample):
            out.append(f"page {number}: most of its text is not drawn (a font the PDF does not embed was not "
                       "found, or the text is invisible); raster mode shows blanks where the text layer has words")
    return out


def _page_text(page, number: int, warnings: list[str]) -> str:
    """A page's text in reading order, one line per piece, a table's rows with tabs between cells."""
    lines = []
    for it in _page_layout(page, number, warnings).items:
        if isinstance(it, Table):
            lines.extend("\t".join(row) for row in it.rows)
        else:
            lines.append(it.text)
    return "\n".join(lines) + "\n"


_BULLETS = "•◦▪▫●○■□‣⁃∙·–-*"
_ITEM = re.compile(r"([•◦▪▫●○■□‣⁃∙·–*-]|\(?\d{1,2}[.)]|\(?[a-z][.)]|\(?[ivx]{1,4}[.)]|\[\d{1,3}\])\s+(?=\S)")
_CAPTION = re.compile(r"(Figure|Fig\.|Table|Listing|Algorithm|Chart|Abbildung|Tabelle|图|表)\s*\d+[.:：]")
def _code(items: list[Piece], step: float) -> str:
    """Monospaced lines as they stand: indentation from their left edges, blank lines from wide gaps."""
    left = min(p.x0 for p in items)
    width = statistics.median((p.x1 - p.x0) / max(len(p.text), 1) for p in items) or 1.0
    lines: list[str] = []
    prev = None
    for p in items:
        if prev is not None and step and p.base - prev.base > 1.6 * step:
            lines.append("")
        lines.append(" " * round((p.x0 - left) / width) + p.text)
        prev = p
    return "\n".join(lines)


def _body_size(pages: list[PageLayout]) -> float:
    """The font size of most of the text (characters counted)."""
    weights: dict[float, int] = {}
    for page in pages:
        for it in page.items:
            if isinstance(it, Piece) and it.size > 0:
                weights[round(it.size, 1)] = weights.get(round(it.size, 1), 0) + len(it.text)
    return max(weights, key=weights.__getitem__) if weights else 0.0


def parse_pdf(data: bytes | str, name: str = "document.pdf", password: str | None = None,
              limits: Limits | None = None) -> Document:
    """The text layer as a Document: pages in reading order (columns, tables kept whole), headings by font
    size or a short bold line, paragraphs rejoined, lists and monospaced blocks kept line by line."""
    limits = limits or Limits()
    pdf = _open(data, name, password, limits)
    warnings: list[str] = []
    pages = [_page_layout(pdf[i], i + 1, warnings) for i in range(len(pdf))]
    pdf.close()
    body = _body_size(pages)
    texts: list[str] = []
    blocks: list[Block] = []
    pos = 0
    for number, page in enumerate(pages, 1):
        reader = _PageReader(page, number, body, pos)
        reader.read()
        blocks += reader.blocks
        texts += reader.texts
        pos = reader.pos
    source = "".join(texts)
    if not source.strip():
        raise NoTextLayer(f"{name}: the PDF has no text layer (scanned?); use raster mode")
    return Document(name, source, blocks, "pdf", warnings=[f"{name}: {w}" for w in warnings])


class _PageReader:
    """One page's pieces and tables, in reading order, gathered into blocks."""

    def __init__(self, page: PageLayout, number: int, body: float, pos: int):
        self.page, self.number, self.body, self.pos = page, number, body, pos
        self.blocks: list[Block] = []
        self.texts: list[str] = []  # the page's part of the source
        lines = [it for it in page.items if isinstance(it, Piece)]
        steps = sorted(b.base - a.base for a, b in zip(lines, lines[1:]) if 0 < b.base - a.base < 3 * max(a.size, 1))
        self.step = steps[len(steps) // 2] if steps else 0.0  # the usual distance between lines
        widths = sorted(len(p.text) for p in lines)
        # the length of a full line (not the median: a figure's labels are many short pieces); shorter lines
        # end something
        self.full = widths[len(widths) * 4 // 5] if widths else 0
        self.para: list[Piece] = []
        self.para_start = pos
        self.kind = PARAGRAPH  # of the block being gathered: a paragraph, a list item or code
        self.marker = ""  # a list item's bullet or number
        self.item_left = 0.0  # where its bullet or number stands: a line starting there or further left ends it
        self.text_left = 0.0  # where its text starts: a line left of it after a short line ends it too

    def add(self, kind: str, spans: list[Span], start: int, items: list, **kw) -> None:
        self.blocks.append(Block(kind, spans, start, self.pos, page=self.number, box=_union(self.page, items), **kw))

    def close(self, end: int) -> None:
        if self.para:
            kind, para = self.kind, self.para
            text = _code(para, self.step) if kind == CODE_BLOCK else rejoin([p.text for p in para])
            self.blocks.append(Block(kind, [Span(text)], self.para_start, end, level=1 if kind == LIST_ITEM else 0,
                                     marker=self.marker, page=self.number, box=_union(self.page, para)))
        self.para, self.kind, self.marker = [], PARAGRAPH, ""

    def read(self) -> None:
        prev: Piece | None = None
        body, step, full = self.body, self.step, self.full
        for it in self.page.items:
            start = self.pos
            if isinstance(it, Table):
                self.close(start)
                text = "".join("\t".join(row) + "\n" for row in it.rows)
                self.texts.append(text)
                self.pos += len(text)
                cells = [[[Span(c)] for c in row] for row in it.rows]
                self.add(TABLE, [], start, [it], rows=cells, header_rows=1 if len(it.rows) > 2 else 0)
                prev = None
                continue
            line = it.text
            self.pos += len(line) + 1
            self.texts.append(line + "\n")
            size = max(it.size, 1.0)
            is_heading = body > 0 and len(line) < 200 and sum(ch.isalpha() for ch in line) >= 2 and (
                it.size >= 1.15 * body or (
                    it.bold >= 0.9 and len(line) < 0.8 * max(full, 20) and not ends_sentence([line])))
            is_code = it.mono >= 0.8 and not is_heading
            item = _ITEM.match(line) if not (is_heading or is_code) else None
            down = it.base - prev.base if prev is not None else 0.0  # negative at the top of the next column
            # a gap ends a paragraph where the line before ends a sentence or is short (a heading), or where it
            # is wide (a line the text layer already joined to the one before, de-hyphenated, leaves a gap of
            # two lines in the middle of a sentence); so does a first line indented after a sentence's end
            last = [self.para[-1].text] if self.para else []  # the line before, in this block
            gap = step > 0 and (down > 2.6 * step or (
                down > 1.3 * step and (ends_sentence(last) or len(last[-1]) < 0.6 * full)))
            indented = (self.kind == PARAGRAPH and it.indent >= 0.8 * size and prev is not None
                        and prev.indent < 0.5 * size and ends_sentence(last))
            unindented = self.kind == LIST_ITEM and down >= 0 and (it.x0 <= self.item_left + 0.3 * size or (
                it.x0 < self.text_left - 0.3 * size and len(last[-1]) < 0.6 * full))
            switch = (self.kind == CODE_BLOCK) != is_code
            caption = bool(_CAPTION.match(line))  # a figure's or table's caption: never inside a paragraph
            if self.para and (is_heading or gap or item or unindented or indented or switch or caption):
                self.close(start)
            prev = it
            if is_heading:
                ratio = it.size / body
                level = 1 if ratio >= 1.8 else 2 if ratio >= 1.4 else 3 if ratio >= 1.15 else 4
                self.add(HEADING, [Span(line)], start, [it], level=level)
                continue
            if item:  # a bulleted or numbered line starts a list item; the lines after it continue it
                self.kind = LIST_ITEM
                self.marker = "•" if item.group(1) in _BULLETS else item.group(1)
                self.item_left = it.x0
                self.text_left = it.words[1][1] if len(it.words) > 1 else it.x0
                it = Piece(line[item.end():], it.x0, it.top, it.x1, it.bottom, it.base, it.size, it.mono, it.indent)
            elif is_code:
                self.kind = CODE_BLOCK
            if not self.para:
                self.para_start = start
            self.para.append(it)
        self.close(self.pos)


def _union(page: PageLayout, items: list) -> tuple[float, float, float, float]:
    """The box round items as drawn on the page (x0, top, x1, bottom, in points from the top left)."""
    boxes = [page.box(i) for i in items]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def raster_pdf(data: bytes | str, name: str = "document.pdf", dpi: float = 72, password: str | None = None,
               limits: Limits | None = None, time_limit: float | None = None,
               memory_mb: int | None = None) -> RasterDocument:
    """The pages (of a PDF's bytes or file), to be rasterised at ``dpi`` when read, with their text layer
    for accounting."""
    limits = limits or Limits()
    pdf = _open(data, name, password, limits)
    ranges, parts, sizes = [], [], []
    warnings: list[str] = []
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
        text = _page_text(page, i + 1, warnings)
        parts.append(text)
        ranges.append((pos, pos + len(text)))
        pos += len(text)
    pdf.close()
    return RasterDocument(name, "".join(parts), ranges, sizes, dpi, data, password, time_limit, memory_mb,
                          warnings=[f"{name}: {w}" for w in warnings])
