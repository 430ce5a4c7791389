"""Fonts a PDF does not embed, and warnings where a page's text layer and its drawing disagree."""

import ctypes
import os
import re
from pathlib import Path

import numpy as np

import glyphpress
from glyphpress.document import LoadOptions, load_bytes
from glyphpress.document.pdf import parse_pdf

from .. import needs

ZH = "这是一个没有嵌入字体的中文文档。"
JA = "これは埋め込まれていない日本語のフォントです。"


def cjk_pdf_without_fonts() -> bytes:
    """Chinese and Japanese in reportlab's CID fonts, which a PDF names but never embeds."""
    import io

    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiMin-W3"))
    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.setFont("STSong-Light", 16)
    c.drawString(72, 750, ZH)
    c.setFont("HeiseiMin-W3", 16)
    c.drawString(72, 720, JA)
    c.save()
    return out.getvalue()


@needs.package("reportlab", "cvttf_NotoSansCJK_Regular")
def test_cjk_text_in_fonts_not_embedded_is_drawn_with_the_bundled_font():
    import cvttf_NotoSansCJK_Regular as cjk
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    data = cjk_pdf_without_fonts()
    doc = parse_pdf(data, "cjk.pdf")  # in this process: pdfium gets the fallback here
    assert [b.text for b in doc.blocks] == [ZH + JA] and doc.warnings == []  # one paragraph, no space
    page = pdfium.PdfDocument(data)[0]
    used = set()
    for obj in page.get_objects(filter=[raw.FPDF_PAGEOBJ_TEXT]):
        font = raw.FPDFTextObj_GetFont(obj.raw)
        assert not raw.FPDFFont_GetIsEmbedded(font)
        n = ctypes.c_size_t()
        raw.FPDFFont_GetFontData(font, None, 0, ctypes.byref(n))
        used.add(n.value)
    assert used == {os.path.getsize(cjk.get_TTF_path())}  # whatever fonts the system has
    raster = load_bytes(data, "cjk.pdf", options=LoadOptions(pdf_mode="raster", dpi=72))
    assert raster.warnings == []
    ink = np.asarray(next(raster.images()).convert("L")) < 128
    assert ink[92 - 16:92 + 4, 72:72 + 16 * len(ZH)].sum() > 500  # the Chinese line is drawn


@needs.package("fpdf")
def test_invisible_text_with_nothing_under_it_is_a_warning_in_both_modes():
    import fpdf
    from fpdf.enums import TextMode

    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.text(20, 30, "A visible line of text.")
    pdf.add_page()
    pdf.text_mode = TextMode.INVISIBLE
    for i in range(5):
        pdf.text(20, 30 + 10 * i, "A line of text nobody can see on the page.")
    data = bytes(pdf.output())
    for mode in ("rerender", "raster"):
        doc = load_bytes(data, "hidden.pdf", options=LoadOptions(pdf_mode=mode))
        assert len(doc.warnings) == 1
        assert doc.warnings[0].startswith("hidden.pdf: page 2: most of its text is not drawn")


@needs.package("fpdf")
def test_characters_without_unicode_values_are_a_warning():
    import fpdf


    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.add_font("dejavu", "", str(Path(glyphpress.__file__).parent / "fonts" / "DejaVuSans.ttf"))
    pdf.set_font("dejavu", size=14)
    pdf.text(20, 30, "Hello world, a line of text in a font without its map.")
    data = bytes(pdf.output())
    assert load_bytes(data, "mapped.pdf").warnings == []
    data = re.sub(rb"/ToUnicode \d+ 0 R", lambda m: b" " * len(m.group(0)), data)  # the map taken out
    doc = load_bytes(data, "unmapped.pdf")
    assert len(doc.warnings) == 1 and "characters have no Unicode value" in doc.warnings[0]
