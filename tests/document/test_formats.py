"""PDF, HTML, DOCX and EPUB on files the tests make, and every bad input of those kinds."""

import io
import time
import zipfile

import numpy as np
import pytest

from glyphpress import InputError, count, render
from glyphpress.document import LoadOptions, RasterDocument, load_bytes
from glyphpress.document import model as m
from glyphpress.document.limits import with_time_limit
from glyphpress.document.pdf import Limits

from .. import needs

needs_fpdf = needs.package("fpdf")


def make_pdf(pages: int = 3, encrypt: str | None = None, size=None, image_only: bool = False) -> bytes:
    import fpdf

    pdf = fpdf.FPDF(format=size or "A4")
    if encrypt:
        pdf.set_encryption(owner_password="owner", user_password=encrypt)
    for i in range(pages):
        pdf.add_page()
        if image_only:
            from PIL import Image

            buf = io.BytesIO()
            Image.new("RGB", (200, 100), (200, 30, 30)).save(buf, "PNG")
            pdf.image(buf, x=10, y=10, w=100)
            continue
        pdf.set_font("helvetica", "B", size=22)
        pdf.cell(text=f"Chapter {i + 1} heading")
        pdf.ln(14)
        pdf.set_font("helvetica", size=11)
        pdf.multi_cell(0, 6, f"Body of page {i + 1}. " + "The quick brown fox jumps over the lazy dog. " * 25)
        pdf.ln(4)
        pdf.multi_cell(0, 6, "A second paragraph with a hyphen-\nated word and more words to fill the line nicely.")
        with pdf.table() as table:
            for row in (("name", "value"), ("alpha", "1"), ("beta", "2")):
                r = table.row()
                for cell in row:
                    r.cell(cell)
    return bytes(pdf.output())


@needs_fpdf
def test_pdf_rerender_extracts_structure():
    doc = load_bytes(make_pdf(3), "doc.pdf")
    assert doc.format == "pdf"
    heads = [b for b in doc.blocks if b.kind == m.HEADING]
    assert [h.text for h in heads] == ["Chapter 1 heading", "Chapter 2 heading", "Chapter 3 heading"]
    paras = [b for b in doc.blocks if b.kind == m.PARAGRAPH]
    assert any("Body of page 2." in p.text for p in paras)
    assert any("hyphenated word" in p.text for p in paras)  # hyphenation undone
    tables = [b for b in doc.blocks if b.kind == m.TABLE]
    assert len(tables) == 3 and [[c[0].text for c in row] for row in tables[0].rows] == \
        [["name", "value"], ["alpha", "1"], ["beta", "2"]]
    r = render(doc, "glyph-en")
    assert r.text_tokens > 500 and r.pages[-1].source_range[1] == len(doc.source)


@needs_fpdf
def test_pdf_raster_and_both_accounted():
    data = make_pdf(2)
    raster = load_bytes(data, "doc.pdf", options=LoadOptions(pdf_mode="raster", dpi=50))
    assert isinstance(raster, RasterDocument) and len(raster.sizes) == 2
    r = render(raster, "glyph-en", model="qwen2.5-vl")
    assert all(abs(p.width - 595.28 * 50 / 72) <= 1 and p.image.size == (p.width, p.height) for p in r.pages)
    c = count(raster, "glyph-en", model="qwen2.5-vl")  # sizes only: no page drawn
    assert [(p.width, p.height, p.vision_tokens) for p in c.pages] == [(p.width, p.height, p.vision_tokens)
                                                                       for p in r.pages]
    assert r.text_tokens > 0 and r.vision_tokens > 0
    rerender = count(load_bytes(data, "doc.pdf"), "glyph-en", model="qwen2.5-vl")
    assert rerender.text_tokens == pytest.approx(r.text_tokens, rel=0.05)
    assert rerender.vision_tokens < r.vision_tokens  # rerendering is the cheaper mode here


@needs_fpdf
def test_pdf_file_is_read_from_disk_page_by_page(tmp_path, monkeypatch):
    # a PDF file is never held whole in memory: the document keeps its path, pdfium reads it as it goes,
    # and closes it every few pages (what it decoded of each page read is freed); the pages do not change
    from glyphpress.document import load
    from glyphpress.document import pdf as pdf_mod

    data = make_pdf(5)
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    opt = LoadOptions(pdf_mode="raster", dpi=40)
    from_file = load(path, options=opt)
    assert from_file.pdf == str(path.resolve())
    in_memory = load_bytes(data, "doc.pdf", options=opt)
    assert in_memory.pdf == data
    want = [im.tobytes() for im in in_memory.images()]
    monkeypatch.setattr(pdf_mod, "REOPEN_PAGES", 2)
    assert [im.tobytes() for im in from_file.images()] == want
    assert load(path, options=opt).source == in_memory.source
    path.write_bytes(b"")
    with pytest.raises(InputError, match="is empty"):
        load(path, options=opt)


@needs_fpdf
def test_pdf_without_text_layer_falls_back_to_raster():
    doc = load_bytes(make_pdf(1, image_only=True), "scan.pdf")
    assert isinstance(doc, RasterDocument) and doc.warnings and "no text layer" in doc.warnings[0]
    page = render(doc, "glyph-en", count_text=False).pages[0].image
    assert (np.asarray(page)[..., 1] < 100).any()  # the red image is there


@needs_fpdf
def test_encrypted_pdf():
    data = make_pdf(1, encrypt="secret")
    with pytest.raises(InputError, match="encrypted PDF; give its password"):
        load_bytes(data, "locked.pdf")
    with pytest.raises(InputError, match="wrong password"):
        load_bytes(data, "locked.pdf", options=LoadOptions(password="nope"))
    doc = load_bytes(data, "locked.pdf", options=LoadOptions(password="secret"))
    assert "Chapter 1 heading" in doc.source


@pytest.mark.parametrize("data,match", [(b"%PDF-1.7\n garbage", "not a readable PDF"), (b"", "empty")])
def test_corrupt_pdf(data, match):
    with pytest.raises(InputError, match=match):
        load_bytes(data, "bad.pdf")


@needs_fpdf
def test_truncated_pdf():
    data = make_pdf(2)
    with pytest.raises(InputError, match="cut.pdf: not a readable PDF"):  # cut inside its objects
        load_bytes(data[: len(data) // 3], "cut.pdf")
    # cut where the cross-reference table starts, every object whole: pdfium rebuilds the table
    doc = load_bytes(data[: data.rindex(b"xref")], "cut.pdf")
    assert "Chapter 1 heading" in doc.source and "Chapter 2 heading" in doc.source
    assert render(doc, count_text=False).pages


@needs_fpdf
def test_pdf_limits():
    with pytest.raises(InputError, match="over the limit of 2"):
        load_bytes(make_pdf(3), "many.pdf", options=LoadOptions(limits=Limits(max_pages=2)))
    with pytest.raises(InputError, match="points a side"):
        load_bytes(make_pdf(1, size=(6000, 6000)), "huge.pdf")
    with pytest.raises(InputError, match="megapixels"):
        load_bytes(make_pdf(1), "big.pdf", options=LoadOptions(pdf_mode="raster", dpi=1200,
                                                                limits=Limits(max_raster_pixels=10_000_000)))


HTML = """<!doctype html><html><head><title>T</title><script>alert(1)</script><style>p{}</style></head>
<body><h1>Heading</h1><p>Para with <b>bold</b>, <i>italic</i>, <a href="#">a link</a> &amp; <code>code</code>.</p>
<ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul><ol><li>first</li></ol>
<blockquote>quoted text</blockquote><pre class="language-python">def f():\n    return 1</pre>
<table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>1</td></tr></table><hr><p>unclosed <b>tags <div>go on
</body></html>"""


def test_html_blocks():
    doc = load_bytes(HTML.encode(), "page.html")
    kinds = [b.kind for b in doc.blocks]
    for kind in (m.HEADING, m.PARAGRAPH, m.LIST_ITEM, m.QUOTE, m.CODE_BLOCK, m.TABLE, m.RULE):
        assert kind in kinds, kind
    assert "alert" not in doc.source and "<" not in doc.source
    nested = [b for b in doc.blocks if b.kind == m.LIST_ITEM and b.text == "nested"]
    assert nested and nested[0].level == 2
    code = next(b for b in doc.blocks if b.kind == m.CODE_BLOCK)
    assert code.lang == "python" and "    return 1" in code.text
    assert render(doc, count_text=False).pages


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def make_docx(body: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", f'<?xml version="1.0"?><w:document {W}><w:body>{body}</w:body></w:document>')
    return buf.getvalue()


def p(text, style=None, bold=False, num=False):
    ppr = ""
    if style or num:
        ppr = "<w:pPr>" + (f'<w:pStyle w:val="{style}"/>' if style else "") + \
              ('<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>' if num else "") + "</w:pPr>"
    rpr = "<w:rPr><w:b/></w:rPr>" if bold else ""
    return f"<w:p>{ppr}<w:r>{rpr}<w:t xml:space=\"preserve\">{text}</w:t></w:r></w:p>"


def test_docx_blocks():
    body = (p("Report", "Heading1") + p("Intro paragraph ") + p("bold words", bold=True) + p("item", num=True)
            + '<w:tbl><w:tr><w:tc>' + p("h1") + '</w:tc><w:tc>' + p("h2") + '</w:tc></w:tr><w:tr><w:tc>'
            + p("c1") + '</w:tc><w:tc>' + p("c2") + '</w:tc></w:tr></w:tbl>')
    doc = load_bytes(make_docx(body), "r.docx")
    kinds = [b.kind for b in doc.blocks]
    assert kinds == [m.HEADING, m.PARAGRAPH, m.PARAGRAPH, m.LIST_ITEM, m.TABLE]
    assert doc.blocks[2].spans[0].style == m.BOLD
    assert doc.blocks[4].rows[1][1][0].text == "c2"
    assert render(doc, count_text=False).pages


def test_docx_table_nested_in_a_cell_stays_in_that_cell():
    inner = '<w:tbl><w:tr><w:tc>' + p("inner a") + '</w:tc><w:tc>' + p("inner b") + '</w:tc></w:tr></w:tbl>'
    body = ('<w:tbl><w:tr><w:tc>' + p("before") + inner + p("after") + '</w:tc><w:tc>' + p("right")
            + '</w:tc></w:tr><w:tr><w:tc>' + p("c1") + '</w:tc><w:tc>' + p("c2") + '</w:tc></w:tr></w:tbl>')
    doc = load_bytes(make_docx(body), "nested.docx")
    rows = [["".join(s.text for s in cell) for cell in row] for row in doc.blocks[0].rows]
    assert rows == [["before inner a inner b after", "right"], ["c1", "c2"]]


def make_epub(chapters: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container><rootfiles>'
                   '<rootfile full-path="OEBPS/content.opf"/></rootfiles></container>')
        items = "".join(f'<item id="c{i}" href="c{i}.xhtml" media-type="application/xhtml+xml"/>'
                        for i in range(len(chapters)))
        spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
        z.writestr("OEBPS/content.opf", f'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf">'
                   f"<manifest>{items}</manifest><spine>{spine}</spine></package>")
        for i, html in enumerate(chapters):
            z.writestr(f"OEBPS/c{i}.xhtml", html)
    return buf.getvalue()


def test_epub_chapters_in_spine_order():
    data = make_epub(["<html><body><h1>One</h1><p>first chapter</p></body></html>",
                      "<html><body><h1>Two</h1><p>second chapter</p></body></html>"])
    doc = load_bytes(data, "book.epub")
    assert [b.text for b in doc.blocks if b.kind == m.HEADING] == ["One", "Two"]
    assert render(doc, count_text=False).pages


@pytest.mark.parametrize("name,data,match", [
    ("bad.docx", b"PK\x03\x04 truncated", "corrupt or truncated"),
    ("nobody.docx", None, "missing word/document.xml"),
    ("bad.epub", b"not a zip", "corrupt or truncated"),
    ("badxml.docx", "xml", "malformed XML"),
    ("bomb.docx", "bomb", "decompression bomb"),
])
def test_bad_office_files(name, data, match):
    if data is None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("other.txt", "x")
        data = buf.getvalue()
    elif data == "xml":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("word/document.xml", "<w:document><unclosed>")
        data = buf.getvalue()
    elif data == "bomb":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("word/document.xml", b"\0" * (20 << 20))
        data = buf.getvalue()
    with pytest.raises(InputError, match=match):
        load_bytes(data, name)


def test_xml_entity_expansion_is_refused():
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            f'<w:document {W}><w:body><w:p><w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", bomb)
    with pytest.raises(InputError):
        load_bytes(buf.getvalue(), "entities.docx")


def test_parsing_has_a_time_limit():
    with pytest.raises(InputError, match="took longer than"):
        with_time_limit(0.5, "slow.pdf", time.sleep, 10)
    assert with_time_limit(5, "fast", abs, -42) == 42
    with pytest.raises(InputError, match="cannot parse"):
        with_time_limit(5, "buggy", divmod, 1, 0)


def test_parsing_child_is_not_forked_from_this_process_and_has_a_memory_cap():
    import os

    # started by the fork server: its parent is not this process, whose threads may hold locks
    assert with_time_limit(5, "who", os.getppid) != os.getpid()
    with pytest.raises(InputError, match="hungry: parsing needed more than 200 MB of memory"):
        with_time_limit(10, "hungry", bytearray, 1 << 30, memory_mb=200)
    assert len(with_time_limit(10, "modest", bytearray, 50 << 20, memory_mb=200)) == 50 << 20


def test_page_breaks_start_new_pages():
    body = p("first page") + '<w:p><w:r><w:br w:type="page"/></w:r></w:p>' + p("second page")
    doc = load_bytes(make_docx(body), "breaks.docx")
    assert [b.kind for b in doc.blocks] == [m.PARAGRAPH, m.BREAK, m.PARAGRAPH]
    r = render(doc, count_text=False)
    assert len(r.pages) == 2
    html = '<p>one</p><div style="page-break-before: always">two</div>'
    assert len(render(load_bytes(html.encode(), "b.html"), count_text=False).pages) == 2


@needs_fpdf
def test_a_pdf_without_text_cannot_join_a_bundle():
    from glyphpress.document import bundle

    scan = load_bytes(make_pdf(1, image_only=True), "scan.pdf")
    with pytest.raises(InputError, match="scan.pdf: a PDF read as page images .* render it on its own"):
        bundle([scan, "some text"], ["scan.pdf", "notes.txt"])
