"""PDF pages that are turned, hostile or odd: /Rotate, characters far off the page, control characters,
many rules, rules inside form XObjects, fonts named but not embedded read after a page was drawn."""

import io
import time

from glyphpress.document import load_bytes
from glyphpress.document.pdf import parse_pdf
from glyphpress.document.pdffonts import _is_cjk_name

from .. import needs


def handmade_pdf(content: str, fonts: str = "/F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
                 rotate: int = 0, extra: list[str] | None = None) -> bytes:
    """A one-page PDF written by hand: ``content`` is its content stream."""
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Rotate {rotate} /Resources << /Font << {fonts} >>"
            " >> /Contents 4 0 R >>", f"<< /Length {len(content)} >>\nstream\n{content}\nendstream", *(extra or [])]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{o}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_a_page_turned_by_rotate_reads_upright():
    lines = [f"Line {i + 1} of a landscape memo, read upright once the page is turned." for i in range(6)]
    for turn in (90, 270):
        # drawn turned the other way in the page's own space (612 x 792), so that it reads upright when shown
        if turn == 90:  # shown turned clockwise: the page's left edge becomes the top
            at = [(0, 1, -1, 0, 60, 60)] + [(0, 1, -1, 0, 90 + 16 * i, 60) for i in range(len(lines))]
        else:  # shown turned counter-clockwise: the right edge becomes the top
            at = [(0, -1, 1, 0, 552, 732)] + [(0, -1, 1, 0, 522 - 16 * i, 732) for i in range(len(lines))]
        texts = ["A Heading For The Memo", *lines]
        content = "BT /F1 12 Tf\n" + "".join(f"{' '.join(map(str, m))} Tm ({t}) Tj\n" for m, t in zip(at, texts)) + "ET"
        doc = parse_pdf(handmade_pdf(content, rotate=turn), "memo.pdf")
        assert [b.text for b in doc.blocks] == ["A Heading For The Memo", " ".join(lines)], turn
        assert doc.warnings == []  # the drawing is checked as shown, where the text is
        x0, top, x1, bottom = doc.blocks[0].box
        assert 50 < x0 < 70 and top < 80 and x1 > 180  # at the top left of the page as shown (landscape)


def test_characters_far_off_the_page_are_left_out_in_little_time_and_memory():
    content = "BT /F1 10 Tf\n" + "".join(
        f"1 0 0 1 50 {700 - 14 * i} Tm (Item{i}) Tj 1 0 0 1 30000000 {700 - 14 * i} Tm ({i * 7}) Tj\n"
        f"1 0 0 1 90 {700 - 14 * i} Tm ({i}) Tj\n" for i in range(6)) + "ET"
    start = time.perf_counter()
    doc = parse_pdf(handmade_pdf(content), "far.pdf")
    assert time.perf_counter() - start < 10  # it took minutes and gigabytes when off-page words made table columns
    assert "35" not in doc.source and "Item5" in doc.source


def test_control_characters_never_reach_the_text():
    font = ("/F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 5 0 R >>")
    cmap = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def 1 begincodespacerange "
            "<00> <FF> endcodespacerange 4 beginbfchar\n<41> <001B>\n<42> <202E>\n<43> <0008>\n<44> <0041>\n"
            "endbfchar endcmap CMapName currentdict /CMap defineresource pop end end")
    content = "BT /F1 12 Tf 50 700 Td (ABCD DDD ABCD) Tj ET"
    doc = parse_pdf(handmade_pdf(content, font, extra=[f"<< /Length {len(cmap)} >>\nstream\n{cmap}\nendstream"]),
                    "ctrl.pdf")
    assert not any(ord(ch) < 32 and ch != "\n" for ch in doc.source)
    assert "\u202e" not in doc.source and "AAA" in doc.source
    assert any("no Unicode value" in w for w in doc.warnings)


def test_thousands_of_rules_do_not_stall_a_page():
    lines = "".join(f"50 {100 + i * 0.6} m 550 {100 + i * 0.6} l S\n" for i in range(1000))
    lines += "".join(f"{50 + i * 0.5} 100 m {50 + i * 0.5} 700 l S\n" for i in range(1000))
    start = time.perf_counter()
    doc = parse_pdf(handmade_pdf(lines + "BT /F1 10 Tf 60 720 Td (A caption above a dense drawing.) Tj ET"), "d.pdf")
    assert time.perf_counter() - start < 20  # a million rule pairs are a drawing, not a table
    assert [b.text for b in doc.blocks] == ["A caption above a dense drawing."]


@needs.package("reportlab")
def test_rules_inside_a_form_xobject_make_the_same_table():
    from reportlab.pdfgen import canvas

    # long cells: without the rules they read as columns of text, not as a table
    rows = [("The first column's heading", "The second column's heading", "The third column's heading"),
            ("A long cell of the first row", "Another long cell beside it", "And a third long cell here"),
            ("The last row's first cell", "The last row's second cell", "The last row's third cell")]
    xs = (40, 180, 320, 460)
    got = []
    for wrap in (False, True):
        buf = io.BytesIO()
        c = canvas.Canvas(buf)

        def draw(c=c):
            c.setFont("Helvetica", 9)
            for i in range(len(rows) + 1):
                c.line(xs[0], 700 - 14 * i, xs[-1], 700 - 14 * i)
            for x in xs:
                c.line(x, 700, x, 700 - 14 * len(rows))
            for i, row in enumerate(rows):
                for x, cell in zip(xs, row):
                    c.drawString(x + 2, 700 - 14 * i - 10, cell)

        if wrap:
            c.beginForm("grid")
            draw()
            c.endForm()
            c.doForm("grid")
        else:
            draw()
        c.showPage()
        c.save()
        blocks = parse_pdf(buf.getvalue(), "grid.pdf").blocks
        got.append([[cell[0].text for cell in row] for row in blocks[0].rows] if blocks[0].rows else blocks[0].text)
    assert got[0] == got[1] == [list(r) for r in rows]


def test_a_page_with_more_rule_pairs_than_the_limit_is_a_drawing():
    from glyphpress.document.pdflayout import MAX_RULE_PAIRS, Char, Rule, ruled_tables

    def grid(n: int, step: float) -> list[Rule]:
        end = 100 + n * step
        return ([Rule(50, 100 + i * step - 0.5, end - 50, 100 + i * step + 0.5) for i in range(n + 1)]
                + [Rule(50 + i * step - 0.5, 100, 50 + i * step + 0.5, end) for i in range(n + 1)])

    chars = [Char(ch, 52 + 6 * k, 102, 57 + 6 * k, 110, 108, 9) for k, ch in enumerate("ab")]
    chars += [Char(ch, 52 + 6 * k, 122, 57 + 6 * k, 130, 128, 9) for k, ch in enumerate("cd")]
    tables, rest, _ = ruled_tables(grid(4, 20), chars)
    assert len(tables) == 1 and not rest
    n = int(MAX_RULE_PAIRS ** 0.5) + 1
    assert ruled_tables(grid(n // 2, 20), chars)[0]  # a big grid is still a table
    tables, rest, forms = ruled_tables(grid(n, 20), chars)
    assert tables == [] and rest == chars and forms == []  # not even looked at


def test_latin_fonts_named_gothic_are_not_taken_for_cjk():
    assert all(_is_cjk_name(n) for n in (b"STSong-Light", b"HeiseiMin-W3", b"ABCDEF+SimSun", b"MSGothic",
                                         b"KozMinPro-Regular", b"NotoSansCJKsc-Regular"))
    assert not any(_is_cjk_name(n) for n in (b"CenturyGothic", b"LetterGothicStd", b"Theinhardt-Regular",
                                             b"Helvetica", b"Mingzat", b"Kairos"))


def test_fonts_not_embedded_read_the_same_on_every_page():
    # pdfium reports wider boxes for a substituted font once a page has been drawn; words must not break
    font = ("/F1 << /Type /Font /Subtype /TrueType /BaseFont /Garamond /FirstChar 32 /LastChar 126 /Widths ["
            + " ".join(["500"] * 95) + "] /Encoding /WinAnsiEncoding /FontDescriptor 5 0 R >>")
    descriptor = ("<< /Type /FontDescriptor /FontName /Garamond /Flags 32 /FontBBox [0 -200 1000 900] /ItalicAngle 0 "
                  "/Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 >>")
    content = "BT /F1 18 Tf 1 0 0 1 50 700 Tm (The quick brown fox jumps over MyriadPro.) Tj ET"
    page = handmade_pdf(content, font, extra=[descriptor])
    for mode in ("rerender", "raster"):
        first = load_bytes(page, "a.pdf", options=None if mode == "rerender" else None)
        assert first.source.strip() == "The quick brown fox jumps over MyriadPro."
    import pypdfium2 as pdfium

    pdfium.PdfDocument(page)[0].render(scale=1)  # a page drawn in this process first
    assert parse_pdf(page, "b.pdf").source.strip() == "The quick brown fox jumps over MyriadPro."


@needs.package("fpdf")
def test_an_invisible_ocr_layer_in_a_monospaced_font_is_text_not_code():
    import fpdf
    from fpdf.enums import TextMode

    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.set_font("courier", size=11)
    pdf.text_mode = TextMode.INVISIBLE  # as OCR tools lay their text over a scanned page
    lines = ["The scanned letter begins here and runs on", "over a second line of the same paragraph."]
    for i, line in enumerate(lines):
        pdf.text(20, 30 + 6 * i, line)
    doc = parse_pdf(bytes(pdf.output()), "ocr.pdf")
    assert [(b.kind, b.text) for b in doc.blocks] == [("paragraph", " ".join(lines))]
