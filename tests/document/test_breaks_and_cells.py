"""Hard line breaks (HTML <br>, DOCX w:br, Markdown's hard break) and block elements inside HTML table cells,
as real pages write them (Wikipedia puts <div>s in <th>s; verse and addresses use <br>)."""

from glyphpress import render
from glyphpress.config import load_config
from glyphpress.document import load_bytes
from glyphpress.document import model as m
from glyphpress.document.flatten import to_flow

from .test_formats import make_docx

WIKI_TABLE = b"""<html><body><table class="wikitable">
<tr><th><div>Year</div></th><th><div class="x">Title</div></th></tr>
<tr><td><p>1999</p></td><td><p>First</p><p>and second</p></td></tr>
<tr><td>2001<td>Open cell</tr>
</table><p>After the table.</p></body></html>"""


def _spans(block):
    return [(s.text, s.style) for s in block.spans]


def test_blocks_inside_cells_stay_in_their_cells_and_bold_ends_with_the_header():
    doc = load_bytes(WIKI_TABLE, "w.html")
    table, after = doc.blocks
    assert table.kind == m.TABLE and after.kind == m.PARAGRAPH
    cells = [["".join(s.text for s in cell) for cell in row] for row in table.rows]
    assert cells == [["Year", "Title"], ["1999", "First and second"], ["2001", "Open cell"]]
    assert table.header_rows == 1 and all(s.style == m.BOLD for s in table.rows[0][0])
    assert _spans(after) == [("After the table.", m.TEXT)]  # not bold: the header's bold ended with it


def test_br_is_a_line_break_and_lines_are_drawn_apart():
    doc = load_bytes(b"<p>Roses are red, <br> violets are blue,<br/>sugar is sweet.<br></p><p>Next</p>", "v.html")
    verse = doc.blocks[0]
    assert _spans(verse) == [("Roses are red,", m.TEXT), ("\n", m.TEXT), ("violets are blue,", m.TEXT),
                             ("\n", m.TEXT), ("sugar is sweet.", m.TEXT)]
    flow = to_flow(doc, load_config("glyph-en"))
    text = flow.text if isinstance(flow.text, str) else "".join(flow.text)
    assert "Roses are red,\nviolets are blue,\nsugar is sweet.\nNext" in text  # one paragraph a line
    assert len(render(doc, "glyph-en", count_text=False).pages) == 1


def test_a_newline_between_inline_elements_is_a_space_not_a_break():
    doc = load_bytes(b"<p><b>bold</b>\n<i>italic</i>\n<code>code</code></p><p>line one<br>line two</p>", "n.html")
    assert doc.blocks[0].text == "bold italic code" and m.LINE_BREAK not in doc.blocks[0].text
    assert doc.blocks[1].text == "line one" + m.LINE_BREAK + "line two"


def test_docx_line_break_but_not_page_break_inside_a_run():
    body = ('<w:p><w:r><w:t>12 Main Street</w:t><w:br/><w:t>Springfield</w:t></w:r></w:p>'
            '<w:p><w:r><w:t>before</w:t><w:br w:type="page"/><w:t>after</w:t></w:r></w:p>')
    doc = load_bytes(make_docx(body), "a.docx")
    texts = [b.text for b in doc.blocks if b.kind == m.PARAGRAPH]
    assert texts[0] == "12 Main Street\nSpringfield"
    assert "\n" not in texts[-1]


def test_markdown_hard_break_and_soft_break():
    doc = load_bytes(b"first line  \nsecond line\nthird line\n", "b.md")
    assert doc.blocks[0].text == "first line\nsecond line third line"


def _docx(body: str, styles: str, numbering: str) -> bytes:
    import io
    import zipfile

    from .test_formats import W

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", f'<?xml version="1.0"?><w:document {W}><w:body>{body}</w:body></w:document>')
        z.writestr("word/styles.xml", f'<?xml version="1.0"?><w:styles {W}>{styles}</w:styles>')
        z.writestr("word/numbering.xml", f'<?xml version="1.0"?><w:numbering {W}>{numbering}</w:numbering>')
    return buf.getvalue()


def _para(text: str, style: str = "", num: tuple[int, int] | None = None) -> str:
    ppr = (f'<w:pStyle w:val="{style}"/>' if style else "") + (
        f'<w:numPr><w:ilvl w:val="{num[1]}"/><w:numId w:val="{num[0]}"/></w:numPr>' if num else "")
    return f"<w:p><w:pPr>{ppr}</w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>"


def test_docx_localised_heading_styles_outline_levels_and_numbered_lists():
    # a German and a Korean Word: style ids "berschrift1" and "a3", named "heading 1" / "heading 2" in styles.xml;
    # "Gliederung" has only an outline level; "Aufz" is based on a numbered list style
    styles = ('<w:style w:styleId="berschrift1"><w:name w:val="heading 1"/></w:style>'
              '<w:style w:styleId="a3"><w:name w:val="heading 2"/></w:style>'
              '<w:style w:styleId="Gliederung"><w:name w:val="Gliederung"/><w:pPr><w:outlineLvl w:val="2"/></w:pPr>'
              '</w:style>'
              '<w:style w:styleId="Liste"><w:name w:val="Liste"/><w:pPr><w:numPr><w:numId w:val="2"/></w:numPr>'
              '</w:pPr></w:style>'
              '<w:style w:styleId="Aufz"><w:name w:val="Aufz"/><w:basedOn w:val="Liste"/></w:style>')
    numbering = ('<w:abstractNum w:abstractNumId="10"><w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
                 '<w:lvlText w:val="%1."/></w:lvl><w:lvl w:ilvl="1"><w:start w:val="1"/>'
                 '<w:numFmt w:val="lowerLetter"/><w:lvlText w:val="%1.%2)"/></w:lvl></w:abstractNum>'
                 '<w:abstractNum w:abstractNumId="11"><w:lvl w:ilvl="0"><w:numFmt w:val="bullet"/>'
                 '<w:lvlText w:val="\uf0b7"/></w:lvl></w:abstractNum>'
                 '<w:num w:numId="1"><w:abstractNumId w:val="10"/></w:num>'
                 '<w:num w:numId="2"><w:abstractNumId w:val="11"/></w:num>')
    body = (_para("Einleitung", "berschrift1") + _para("Hintergrund", "a3") + _para("Gliederung drei", "Gliederung")
            + _para("first", num=(1, 0)) + _para("first a", num=(1, 1)) + _para("first b", num=(1, 1))
            + _para("second", num=(1, 0)) + _para("second a", num=(1, 1)) + _para("a bullet", "Aufz")
            + _para("plain text"))
    doc = load_bytes(_docx(body, styles, numbering), "de.docx")
    got = [(b.kind, b.level, b.marker, b.text) for b in doc.blocks]
    assert got == [(m.HEADING, 1, "", "Einleitung"), (m.HEADING, 2, "", "Hintergrund"),
                   (m.HEADING, 3, "", "Gliederung drei"),
                   (m.LIST_ITEM, 1, "1.", "first"), (m.LIST_ITEM, 2, "1.a)", "first a"),
                   (m.LIST_ITEM, 2, "1.b)", "first b"), (m.LIST_ITEM, 1, "2.", "second"),
                   (m.LIST_ITEM, 2, "2.a)", "second a"), (m.LIST_ITEM, 1, "•", "a bullet"),
                   (m.PARAGRAPH, 0, "", "plain text")]


def _wide_table(n: int) -> bytes:
    head = "| " + " | ".join(f"Head{i:02d}xx" for i in range(n)) + " |\n|" + "---|" * n + "\n"
    return (head + "".join("| " + " | ".join(f"v{r}c{i:02d}abcd" for i in range(n)) + " |\n"
                           for r in range(3))).encode()


def test_wide_tables_keep_every_cell_whole():
    from PIL import ImageFont

    from glyphpress.document.flatten import TABLE_MIN_SCALE

    from ..conftest import FONTS

    mono = ImageFont.truetype(str(FONTS / "DejaVuSansMono.ttf"), 100)  # widths measured here, in points

    cfg = load_config("glyph-en")
    for n, groups in ((8, 1), (16, 2), (24, 3)):
        doc = load_bytes(_wide_table(n), "t.md")
        flow = to_flow(doc, load_config("glyph-en"))
        lines = flow.text.split("\n") if isinstance(flow.text, str) else "".join(flow.text).split("\n")
        for r in range(3):
            for i in range(n):
                assert any(f"v{r}c{i:02d}abcd" in ln for ln in lines), (n, r, i)  # whole, never cut or wrapped
        firsts = [ln for ln in lines if ln.startswith("Head00xx")]
        assert len(firsts) == groups  # the key column heads every group
        widest = max((ln for ln in lines if "│" in ln), key=len)  # a row fits the column at the smallest font
        width_pt = mono.getlength(widest) / 100 * cfg.font_size * TABLE_MIN_SCALE
        assert width_pt <= cfg.column_width - cfg.left_indent - cfg.right_indent
