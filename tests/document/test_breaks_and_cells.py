"""Hard line breaks (HTML <br>, DOCX w:br, Markdown's hard break) and block elements inside HTML table cells,
as real pages write them (Wikipedia puts <div>s in <th>s; verse and addresses use <br>)."""

from glyphpress import render
from glyphpress.document import load_bytes
from glyphpress.document import model as m
from glyphpress.document.flatten import to_flow
from glyphpress.config import load_config

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
