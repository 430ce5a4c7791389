"""The published Glyph renderer's pipeline, reproduced to measure glyphpress against it side by side.

The published renderer (thu-coai/Glyph, ``scripts/word2png_function.py``) lays text out with ReportLab's
platypus and rasterises the PDF with poppler (``pdftoppm``). This module does the same steps with the
same libraries (extra ``reference``: ReportLab; poppler-utils from the system for pixels):

1. soft hyphens and zero-width spaces removed, the text XML-escaped, every run of two or more spaces
   made that many ``&nbsp;``;
2. the text split on newlines and joined 30 lines at a time with the newline markup into one
   ``Paragraph`` each, in a ``SimpleDocTemplate`` with θ's page and margins;
3. a ``ParagraphStyle`` based on "Normal" with θ's font, size, leading, colours, indents, alignment,
   spacing and border, and ``wordWrap="CJK"`` when the text holds a CJK ideograph;
4. each page painted with θ's page colour, rendered by poppler at θ's dpi, scaled horizontally and
   cropped to its ink (as ``glyphpress.raster.crop`` does).

Used by ``benchmarks/published_compat.py`` and the compatibility tests.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image

from ..config import RenderConfig
from ..errors import GlyphpressError
from ..layout.fonts import resolve_font
from ..raster.crop import published_crop

GROUP_LINES = 30


def _reportlab():
    try:
        import reportlab  # noqa: F401
    except ImportError:
        raise GlyphpressError("the published pipeline needs ReportLab: pip install 'glyphpress[reference]'") from None


def font_file(cfg: RenderConfig) -> str:
    """The font file θ names (a collection's face is not supported by ReportLab's TTFont here)."""
    spec = resolve_font(cfg.font_path or cfg.font_family or "sans")
    path, _, index = spec.partition("#")
    if index and index != "0":
        raise GlyphpressError(f"{path}: ReportLab reads only the first face of a font collection")
    return path


def prepare(text: str) -> list[str]:
    """The published text clean-up: one markup string per 30 source lines (before joining)."""
    text = text.replace("\xad", "").replace("\u200b", "")
    text = re.sub(" {2,}", lambda m: "&nbsp;" * len(m.group()), escape(text))
    return text.split("\n")


def paragraphs(text: str, cfg: RenderConfig) -> list[str]:
    markup = cfg.newline_markup if cfg.newline.text is not None else "<br/>"
    if markup.strip().lower() == "marker":
        from ..config import MARKER_NEWLINE

        markup = MARKER_NEWLINE
    parts = prepare(text)
    return [markup.join(parts[i: i + GROUP_LINES]) for i in range(0, len(parts), GROUP_LINES)]


def build_pdf(text: str, cfg: RenderConfig) -> bytes:
    """The published renderer's PDF of ``text`` under θ."""
    _reportlab()
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    path = font_file(cfg)
    name = "glyphpress-" + re.sub(r"\W", "_", Path(path).stem)
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, path))
    page = (float(cfg.page_size[0]), float(cfg.page_size[1]))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=page, leftMargin=cfg.margin_x, rightMargin=cfg.margin_x,
                            topMargin=cfg.margin_y, bottomMargin=cfg.margin_y)
    align = {"LEFT": TA_LEFT, "CENTER": TA_CENTER, "RIGHT": TA_RIGHT, "JUSTIFY": TA_JUSTIFY}[cfg.alignment]
    style = ParagraphStyle(
        "glyph", parent=getSampleStyleSheet()["Normal"], fontName=name, fontSize=cfg.font_size,
        leading=cfg.line_height or cfg.font_size + 1, textColor=colors.HexColor(cfg.font_color),
        backColor=colors.HexColor(cfg.para_bg_color), borderColor=colors.HexColor(cfg.para_border_color),
        borderWidth=cfg.border_width, borderPadding=cfg.border_padding, firstLineIndent=cfg.first_line_indent,
        leftIndent=cfg.left_indent, rightIndent=cfg.right_indent, alignment=align,
        spaceBefore=cfg.space_before, spaceAfter=cfg.space_after,
        wordWrap="CJK" if re.search("[\u4e00-\u9fff]", text) else None)
    bg = colors.HexColor(cfg.page_bg_color)

    def paint(canvas, _doc):
        canvas.saveState()
        canvas.setFillColor(bg)
        canvas.rect(0, 0, page[0], page[1], stroke=0, fill=1)
        canvas.restoreState()

    doc.build([Paragraph(p, style) for p in paragraphs(text, cfg)], onFirstPage=paint, onLaterPages=paint)
    return buf.getvalue()


def page_texts(pdf: bytes) -> list[str]:
    """The text layer of each page (pypdfium2)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def baselines(pdf: bytes) -> list[list[float]]:
    """Per page, the baselines (points from the page's top) of lines that show a character, in order."""
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    doc = pdfium.PdfDocument(pdf)
    out = []
    try:
        for i in range(len(doc)):
            page = doc[i]
            height = page.get_height()
            text = page.get_textpage()
            ys = set()
            x, y = ctypes.c_double(), ctypes.c_double()
            for k in range(raw.FPDFText_CountChars(text)):
                if not chr(raw.FPDFText_GetUnicode(text, k)).isspace():
                    raw.FPDFText_GetCharOrigin(text, k, x, y)
                    ys.add(round(height - y.value, 9))
            out.append(sorted(ys))
    finally:
        doc.close()
    return out


def rasterize(pdf: bytes, cfg: RenderConfig) -> list[Image.Image]:
    """Pages as poppler draws them at θ's dpi (pdftoppm, RGB), scaled and cropped as published."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise GlyphpressError("rasterising the published pages needs poppler's pdftoppm (Debian: poppler-utils)")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "doc.pdf"
        src.write_bytes(pdf)
        subprocess.run([exe, "-r", str(cfg.dpi), "-png", str(src), str(Path(tmp) / "p")], check=True)
        files = sorted(Path(tmp).glob("p-*.png"), key=lambda f: int(f.stem.split("-")[-1]))
        images = [Image.open(f).convert("RGB") for f in files]
    return [_finish(img, cfg, i == len(images) - 1) for i, img in enumerate(images)]


def _finish(img: Image.Image, cfg: RenderConfig, last: bool) -> Image.Image:
    out = published_crop(img, cfg, last)
    return out if isinstance(out, Image.Image) else Image.fromarray(out)


_INVISIBLE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]+")


def normalise(text: str) -> str:
    """Text for comparing pages: white space, control and format characters removed (a PDF's text layer
    leaves out characters drawn without a glyph; pdfium reads a hyphen ending a line as U+FFFE)."""
    return _INVISIBLE.sub("", text.replace("\ufffe", "-"))


@dataclass
class Agreement:
    published_pages: int
    glyphpress_pages: int
    same_text: int  # pages holding exactly the same text

    @property
    def fraction(self) -> float:
        return self.same_text / max(self.published_pages, self.glyphpress_pages, 1)


def page_agreement(text: str, cfg: RenderConfig, glyphpress_ranges: list[tuple[int, int]],
                   pdf: bytes | None = None) -> Agreement:
    """How many pages hold the same text in glyphpress's pages (given by source ranges) and the
    published renderer's (its PDF's text layer), white space aside. The newline marker's text is left
    out on both sides."""
    pdf = pdf if pdf is not None else build_pdf(text, cfg)
    theirs = page_texts(pdf)
    marker = (cfg.newline.text or "").strip()

    def norm(t: str) -> str:
        return normalise(t.replace(marker, "") if marker else t)

    ours = [norm(text[a:b]) for a, b in glyphpress_ranges]
    same = sum(1 for a, b in zip(ours, (norm(t) for t in theirs)) if a == b)
    return Agreement(len(theirs), len(ours), same)


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference of two pages in grey levels (0-255), over the larger page (missing pixels
    count as white)."""
    w, h = max(a.width, b.width), max(a.height, b.height)
    pa = np.full((h, w), 255, dtype=np.int16)
    pb = np.full((h, w), 255, dtype=np.int16)
    ga, gb = np.asarray(a.convert("L")), np.asarray(b.convert("L"))
    pa[: ga.shape[0], : ga.shape[1]] = ga
    pb[: gb.shape[0], : gb.shape[1]] = gb
    return float(np.abs(pa - pb).mean())
