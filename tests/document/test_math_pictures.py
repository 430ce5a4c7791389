import numpy as np
import pytest
from PIL import Image

from glyphpress import preset, render
from glyphpress.document import load, parse_markdown
from glyphpress.document.flatten import to_flow
from glyphpress.document.math import typeset
from glyphpress.layout.flow import OBJECT

from .. import needs

needs_matplotlib = needs.package("matplotlib")


@needs_matplotlib
@pytest.mark.parametrize("tex", [r"\frac{a}{b}", r"x_i^2", r"\int_0^1 f(x)\,dx", r"\alpha + \beta = \gamma",
                                 r"\sum_{k=1}^{n} k", r"\sqrt{x^2+y^2}",
                                 r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}",
                                 r"A = \begin{bmatrix} 1 & 0 \\ 0 & 1 \end{bmatrix}"])
def test_typeset_formulas(tex):
    obj = typeset(tex, 12)
    assert obj is not None and obj.image.mode == "L"
    a = np.asarray(obj.image)
    assert a.max() > 200 and a.shape[0] >= 8


@needs_matplotlib
def test_fractions_are_taller_than_plain_text():
    assert typeset(r"\frac{a}{b}", 12).image.height > typeset("ab", 12).image.height


@needs_matplotlib
@pytest.mark.parametrize("tex", [r"\frac{a", r"\undefinedmacro{x}", r"\begin{align} x \end{align}", ""])
def test_unparsable_formula_returns_none(tex):
    assert typeset(tex, 12) is None


@needs_matplotlib
def test_math_in_markdown_becomes_objects_or_source():
    doc = parse_markdown("Inline $x^2$ and broken $\\frac{a$ here.\n\n$$\\int_0^1 x\\,dx$$\n")
    flow = to_flow(doc, preset("glyph-en"))
    assert flow.text.count(OBJECT) == 2 and len(flow.objects) == 2
    assert "\\frac{a" in flow.text  # the broken one is shown as its source
    r = render(doc, count_text=False)
    assert r.pages[0].image is not None


def test_picture_embedded_and_scaled(tmp_path):
    Image.new("RGB", (2000, 400), (10, 200, 10)).save(tmp_path / "wide.png")
    (tmp_path / "doc.md").write_text("Before\n\n![wide](wide.png)\n\n![outside](../x.png) ![web](http://a/b.png)\n")
    doc = load(tmp_path / "doc.md")
    r = render(doc, "glyph-en", count_text=False)
    img = np.asarray(r.pages[0].image.convert("RGB")).astype(int)
    green = (img[..., 1] > 150) & (img[..., 0] < 60)
    cols = np.flatnonzero(green.any(axis=0))
    assert len(cols) and cols[-1] - cols[0] < 595  # scaled to the column
    flow = to_flow(doc, preset("glyph-en"))
    assert "[image: outside]" in flow.text and "[image: web]" in flow.text  # never read outside its folder


def test_decompression_bomb_picture_is_refused(tmp_path):
    from PIL import PngImagePlugin  # noqa: F401 - a PNG whose header claims a huge size

    Image.new("1", (8000, 6000)).save(tmp_path / "bomb.png")
    (tmp_path / "doc.md").write_text("![bomb](bomb.png)\n")
    with pytest.warns(UserWarning, match="over the limit"):
        flow = to_flow(load(tmp_path / "doc.md"), preset("glyph-en"))
    assert "[image: bomb]" in flow.text


@needs_matplotlib
def test_displayed_formula_on_a_cropped_page_is_indented_not_pushed_to_the_edge():
    cfg = preset("glyph-en")  # crops each page to its widest line
    doc = parse_markdown("Short.\n\n$$E = mc^2 + \\sum_{k=1}^{n} k$$\n\nEnd.\n")
    page = np.asarray(render(doc, cfg, count_text=False).pages[0].image.convert("L")) < 128
    rows = np.flatnonzero(page.any(axis=1))
    bands = np.split(rows, np.flatnonzero(np.diff(rows) > 2) + 1)  # Short., the formula (its parts), End.
    formula = page[bands[1][0]: bands[-2][-1] + 1]
    cols = np.flatnonzero(formula.any(axis=0))
    margin, em = cfg.px(cfg.margin_x + 6), cfg.px(cfg.font_size)  # the frame's padding is 6 pt
    assert cols[0] <= margin + 2 * em + 2  # from the left, like the text, two ems in
    assert page.shape[1] - 1 - cols[-1] >= cfg.px(cfg.margin_x) - 1  # the crop's margin on the right
    assert page.shape[1] < cols[-1] - cols[0] + 2 * margin + 2 * em + 4  # no room left for a centred one


@needs_matplotlib
@pytest.mark.parametrize("name", ["glyph-en", "tight"])
def test_an_inline_formula_takes_its_width_on_the_line(name):
    from glyphpress.pipeline import renderer_for
    from glyphpress.tokens.vision import vision_model

    cfg = preset(name)
    flow = to_flow(parse_markdown("Math inline $a^2 + b^2$ and more words after it.\n"), cfg)
    (obj,) = flow.objects.values()
    (_, lay), = list(renderer_for(cfg).pages(flow, vision_model(None), draw=False))
    ((x, _, drawn),) = lay.objects
    assert drawn is obj
    after = lay.gx[lay.gx > x]
    assert len(after) and after.min() >= x + obj.image.width  # the words after it start past it
    assert len(lay.gx) == len("Mathinline" + "andmorewordsafterit.")  # no glyph is drawn for the object


# ---- Word equations and pictures inside DOCX and EPUB files --------------------------------------------------
MATH_NS = 'xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math"'


def omml(inner: str) -> str:
    return f"<m:oMath {MATH_NS}>{inner}</m:oMath>"


def mr(text: str) -> str:
    return f"<m:r><m:t>{text}</m:t></m:r>"


@pytest.mark.parametrize("xml, tex", [
    (mr("x") + "<m:sSup><m:e>" + mr("y") + "</m:e><m:sup>" + mr("2") + "</m:sup></m:sSup>", "xy^{2}"),
    ("<m:f><m:num>" + mr("a+b") + "</m:num><m:den>" + mr("c") + "</m:den></m:f>", r"\frac{a+b}{c}"),
    ("<m:rad><m:radPr><m:degHide m:val=\"1\"/></m:radPr><m:deg/><m:e>" + mr("x") + "</m:e></m:rad>", r"\sqrt{x}"),
    ("<m:nary><m:naryPr><m:chr m:val=\"∑\"/></m:naryPr><m:sub>" + mr("i=1") + "</m:sub><m:sup>" + mr("n")
     + "</m:sup><m:e>" + mr("i") + "</m:e></m:nary>", r"\sum_{i=1}^{n} i"),
    ("<m:d><m:e>" + mr("α") + "</m:e></m:d>", r"\left(\alpha \right)"),
    ("<m:sSub><m:e>" + mr("x") + "</m:e><m:sub>" + mr("k") + "</m:sub></m:sSub>", "x_{k}"),
    ("<m:func><m:fName>" + mr("sin") + "</m:fName><m:e>" + mr("θ") + "</m:e></m:func>", r"\sin {\theta}"),
    ("<m:m><m:mr><m:e>" + mr("1") + "</m:e><m:e>" + mr("0") + "</m:e></m:mr><m:mr><m:e>" + mr("0") + "</m:e><m:e>"
     + mr("1") + "</m:e></m:mr></m:m>", r"\begin{matrix}1 & 0 \\ 0 & 1\end{matrix}"),
])
def test_word_equations_become_latex(xml, tex):
    from defusedxml import ElementTree

    from glyphpress.document.omml import to_latex

    assert to_latex(ElementTree.fromstring(omml(xml))).strip() == tex


@needs_matplotlib
def test_docx_equations_inline_and_displayed_are_typeset():
    from glyphpress.document import load_bytes

    from .test_formats import make_docx

    frac = "<m:f><m:num>" + mr("1") + "</m:num><m:den>" + mr("2") + "</m:den></m:f>"
    square = mr("E=m") + "<m:sSup><m:e>" + mr("c") + "</m:e><m:sup>" + mr("2") + "</m:sup></m:sSup>"
    body = (f'<w:p><w:r><w:t xml:space="preserve">Half is </w:t></w:r>{omml(frac)}'
            '<w:r><w:t xml:space="preserve"> of one.</w:t></w:r></w:p>'
            f'<w:p><m:oMathPara {MATH_NS}>{omml(square)}</m:oMathPara></w:p>')
    doc = load_bytes(make_docx(body), "eq.docx")
    assert [b.kind for b in doc.blocks] == ["paragraph", "math"]
    assert [(s.text, s.style) for s in doc.blocks[0].spans] == [
        ("Half is ", "text"), (r"\frac{1}{2}", "math"), (" of one.", "text")]
    assert doc.blocks[1].text == "E=mc^{2}"
    assert len(to_flow(doc, preset("glyph-en")).objects) == 2  # both typeset


def docx_with_picture(png: bytes, target: str = "media/image1.png") -> bytes:
    import io
    import zipfile

    W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    ns = ('xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
          'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
    drawing = (f'<w:drawing><wp:inline {ns}><wp:docPr id="1" name="Picture 1" descr="a green bar"/>'
               '<a:graphic><a:graphicData><a:blip r:embed="rId7"/></a:graphicData></a:graphic>'
               '</wp:inline></w:drawing>')
    body = f'<w:p><w:r><w:t>Above the bar.</w:t></w:r></w:p><w:p><w:r>{drawing}</w:r></w:p>'
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", f'<?xml version="1.0"?><w:document {W}><w:body>{body}</w:body></w:document>')
        z.writestr("word/_rels/document.xml.rels",
                   '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'relationships"><Relationship Id="rId7" Type="image" Target="' + target + '"/></Relationships>')
        z.writestr("word/media/image1.png", png)
    return buf.getvalue()


def green_png() -> bytes:
    import io

    buf = io.BytesIO()
    Image.new("RGB", (300, 60), (10, 200, 10)).save(buf, "PNG")
    return buf.getvalue()


def has_green(doc) -> bool:
    r = render(doc, "glyph-en", count_text=False)
    img = np.asarray(r.pages[0].image.convert("RGB")).astype(int)
    return bool(((img[..., 1] > 150) & (img[..., 0] < 60)).sum() > 1000)


def test_docx_pictures_are_drawn_from_inside_the_file():
    from glyphpress.document import bundle, load_bytes
    from glyphpress.document.export import to_markdown

    doc = load_bytes(docx_with_picture(green_png()), "pic.docx")
    assert [b.kind for b in doc.blocks] == ["paragraph", "paragraph"]
    assert [(s.text, s.style, s.ref) for s in doc.blocks[1].spans] == [
        ("a green bar", "picture", "word/media/image1.png")]
    assert has_green(doc)
    assert "![a green bar](word/media/image1.png)" in to_markdown(doc)
    both = bundle([doc, load_bytes(docx_with_picture(green_png()), "pic2.docx")], ["pic.docx", "pic2.docx"])
    assert sorted(both.pictures) == ["0/word/media/image1.png", "1/word/media/image1.png"] and has_green(both)
    broken = load_bytes(docx_with_picture(b"not a picture"), "broken.docx")
    assert not has_green(broken) and "[image: a green bar]" in to_flow(broken, preset("glyph-en")).text


def test_epub_pictures_are_drawn_from_inside_the_book():
    import io
    import zipfile

    from glyphpress.document import load_bytes

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container><rootfiles>'
                   '<rootfile full-path="OEBPS/content.opf"/></rootfiles></container>')
        z.writestr("OEBPS/content.opf", '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf">'
                   '<manifest><item id="c1" href="text/c1.xhtml" media-type="application/xhtml+xml"/></manifest>'
                   '<spine><itemref idref="c1"/></spine></package>')
        z.writestr("OEBPS/text/c1.xhtml", '<html><body><p>Chapter one.</p><p><img src="../images/bar.png"/></p>'
                   '<p><img src="../images/missing.png" alt="gone"/></p></body></html>')
        z.writestr("OEBPS/images/bar.png", green_png())
    doc = load_bytes(buf.getvalue(), "book.epub")
    pictures = [s for b in doc.blocks for s in b.spans if s.style == "picture"]
    assert [(s.text, s.ref) for s in pictures] == [("", "OEBPS/images/bar.png"), ("gone", "../images/missing.png")]
    assert list(doc.pictures) == ["OEBPS/images/bar.png"] and has_green(doc)


def test_a_picture_that_cannot_be_read_never_rejects_its_document():
    import io
    import zipfile

    from glyphpress.document import load_bytes

    good = docx_with_picture(green_png())
    # the picture's entry corrupted in the archive (a bad CRC): the document reads, the picture is its alt text
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as out:
        for item in src.infolist():
            out.writestr(item.filename, src.read(item.filename))
    data = bytearray(buf.getvalue())
    png = green_png()
    start = bytes(data).find(png)
    data[start + len(png) // 2] ^= 0xFF
    doc = load_bytes(bytes(data), "crc.docx")
    assert [s.style for s in doc.blocks[1].spans] == ["picture"] and doc.pictures == {}
    assert "[image: a green bar]" in to_flow(doc, preset("glyph-en")).text


def test_docx_picture_targets_from_the_root_and_epub_sources_percent_encoded():
    import io
    import zipfile

    from glyphpress.document import load_bytes

    rooted = docx_with_picture(green_png(), target="/word/media/image1.png")
    assert has_green(load_bytes(rooted, "rooted.docx"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container><rootfiles>'
                   '<rootfile full-path="book.opf"/></rootfiles></container>')
        z.writestr("book.opf", '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf"><manifest>'
                   '<item id="c" href="c.xhtml"/></manifest><spine><itemref idref="c"/></spine></package>')
        z.writestr("c.xhtml", '<html><body><p>Text.</p><p><img src="my%20bar.png"/></p>'
                   '<p><img src="../../etc/passwd" alt="outside"/><img src="/abs.png" alt="root"/></p></body></html>')
        z.writestr("my bar.png", green_png())
    doc = load_bytes(buf.getvalue(), "enc.epub")
    assert list(doc.pictures) == ["my bar.png"] and has_green(doc)
    refs = [s.ref for b in doc.blocks for s in b.spans if s.style == "picture"]
    assert refs == ["my bar.png", "../../etc/passwd", "/abs.png"]  # nothing outside the book is read


def test_equations_nested_too_deep_read_as_their_text():
    from defusedxml import ElementTree

    from glyphpress.document.omml import to_latex

    xml = mr("x")
    for _ in range(300):
        xml = "<m:f><m:num>" + xml + "</m:num><m:den>" + mr("y") + "</m:den></m:f>"
    tex = to_latex(ElementTree.fromstring(omml(xml)))
    assert tex == "x" + "y" * 300  # no RecursionError: the document reads
    assert to_latex(ElementTree.fromstring(omml("<m:f><m:num>" + mr("x") + "</m:num><m:den>" + mr("y")
                                                + "</m:den></m:f>"))) == r"\frac{x}{y}"


@needs_matplotlib
def test_formulas_wider_than_the_column_or_too_long_are_shown_as_their_source():
    wide = " + ".join(f"x_{{{i}}}" for i in range(150))
    doc = parse_markdown(f"$$\\alpha + \\beta$$\n\n$${wide}$$\n\nInline ${' + '.join(['y'] * 1200)}$ too.\n")
    flow = to_flow(doc, preset("glyph-en"))
    assert len(flow.objects) == 1  # only the short one is a picture
    assert "x_{149}" in flow.text  # the wide one wraps as its source: nothing cut at the page's edge


def test_a_formula_too_long_is_never_handed_to_mathtext(monkeypatch):
    from glyphpress.document import flatten

    seen = []
    monkeypatch.setattr(flatten, "typeset", lambda tex, px: seen.append(tex))
    to_flow(parse_markdown("$$" + "+".join(["z"] * (flatten.MAX_FORMULA // 2 + 1)) + "$$\n\n$a+b$\n"),
            preset("glyph-en"))
    assert seen == ["a+b"]  # the long one is shown as its source without the cost of typesetting it
