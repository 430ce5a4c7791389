import numpy as np
import pytest

from glyphpress import count, preset, render
from glyphpress.document import bundle, load_document, parse_markdown
from glyphpress.document import model as m
from glyphpress.document.flatten import to_flow

MD = """# Title

Intro with **bold**, *italic*, ***both***, `inline code`, ~~struck~~ and a [link](https://example.com).

## Lists

- one
- two
  - nested **deep**
- [x] done task
- [ ] open task

1. first
2. second

> a quote
> > nested quote

```python
def f(x):
    return x + 1  # a very long comment that must wrap around the line because it is far too long to fit
```

| name | value | note |
|:-----|------:|:----:|
| alpha | 1 | left |
| beta | 22 | a long cell that has to wrap inside its column when the table is narrow |

---

Math inline $a^2 + b^2$ and display:

$$
\\int_0^1 x\\,dx
$$

Footnote reference[^1].

[^1]: The footnote text.

![an image](missing.png)
"""


def test_every_construct_becomes_a_block():
    doc = parse_markdown(MD)
    kinds = [b.kind for b in doc.blocks]
    for kind in (m.HEADING, m.PARAGRAPH, m.LIST_ITEM, m.QUOTE, m.CODE_BLOCK, m.TABLE, m.RULE, m.MATH_BLOCK,
                 m.FOOTNOTE):
        assert kind in kinds, kind
    heads = [b for b in doc.blocks if b.kind == m.HEADING]
    assert [h.level for h in heads] == [1, 2]
    intro = doc.blocks[1]
    styles = {s.style for s in intro.spans}
    assert {m.BOLD, m.ITALIC, m.BOLD_ITALIC, m.CODE, m.STRIKE, m.LINK} <= styles
    items = [b for b in doc.blocks if b.kind == m.LIST_ITEM]
    assert [i.marker for i in items][:5] == ["•", "•", "◦", "•", "•"]
    assert items[2].level == 2
    assert any(i.text.startswith("☑") for i in items) and any(i.text.startswith("☐") for i in items)
    assert [i.marker for i in items if i.marker.endswith(".")] == ["1.", "2."]
    quotes = [b for b in doc.blocks if b.kind == m.QUOTE]
    assert [q.level for q in quotes] == [1, 2]
    code = next(b for b in doc.blocks if b.kind == m.CODE_BLOCK)
    assert code.lang == "python" and code.text.startswith("def f(x):")
    table = next(b for b in doc.blocks if b.kind == m.TABLE)
    assert table.header_rows == 1 and table.aligns == ["left", "right", "center"] and len(table.rows) == 3
    # source ranges are in order and inside the text
    pos = 0
    for b in doc.blocks:
        assert pos <= b.start <= b.end <= len(MD)
        pos = b.start


def test_flow_keeps_structure_and_maps_to_source():
    cfg = preset("glyph-en")
    flow = to_flow(parse_markdown(MD), cfg)
    lines = flow.text.split("\n")
    assert "Title" in lines[0] and "**" not in flow.text and "```" not in flow.text
    assert any(line.startswith("    return x + 1") for line in lines)  # indentation kept
    assert any("│" in line for line in lines)  # table grid
    assert flow.source is not None and (np.diff(flow.source) >= 0).all()
    assert flow.source[-1] <= len(MD)
    assert len(flow.style_table) > 4  # bold, italic, mono, heading sizes, colours


def test_render_markdown_pages_and_ranges():
    doc = load_document(MD * 6, "doc.md")
    r = render(doc, "glyph-en", count_text=True)
    assert r.format == "markdown" and len(r.pages) >= 2
    assert r.pages[0].source_range[0] == 0 and r.pages[-1].source_range[1] == len(MD * 6)
    for a, b in zip(r.pages, r.pages[1:]):
        assert a.source_range[1] == b.source_range[0]
    img = np.asarray(r.pages[0].image.convert("RGB")).astype(int)
    assert ((img[..., 2] > 120) & (img[..., 0] < 80)).any()  # blue link / syntax colour somewhere


def test_headings_are_bigger_than_body():
    r = render(load_document("# Heading\n\nbody text", "a.md"), "glyph-en", count_text=False)
    page = r.pages[0].image
    a = 255 - np.asarray(page.convert("L")).astype(int)
    rows = np.flatnonzero(a.sum(axis=1) > 0)
    gaps = np.flatnonzero(np.diff(rows) > 1)
    heading_h = rows[gaps[0]] - rows[0] + 1
    body_h = rows[-1] - rows[gaps[0] + 1] + 1
    assert heading_h > body_h


def test_code_file_and_line_numbers():
    src = "def f():\n    return 1\n" * 40
    doc = load_document(src, "x.py")
    assert doc.format == "code" and doc.blocks[0].lang == "python"
    flow = to_flow(doc, preset("glyph-en"), line_numbers=True)
    assert flow.text.split("\n")[1].strip().startswith("2 ")
    c = count(doc, "glyph-en", line_numbers=True)
    assert c.pages and c.text_tokens > 0


def test_bundle_records_each_document():
    doc = bundle([load_document("# A\n\ntext a", "a.md"), "plain b\n", load_document("x = 1\n", "c.py")],
                 ["a.md", "b.txt", "c.py"])
    r = render(doc, "glyph-en", count_text=False)
    names = [d["name"] for d in r.documents]
    assert names == ["a.md", "b.txt", "c.py"]
    assert all(d["pages"] == [1, 1] for d in r.documents)
    assert "■ a.md" in to_flow(doc, preset("glyph-en")).text


@pytest.mark.parametrize("source", ["", "   \n"])
def test_empty_markdown_is_an_error(source):
    from glyphpress import InputError

    with pytest.raises(InputError):
        render(load_document(source, "e.md"))


@pytest.mark.parametrize("source", ["*unclosed **bold", "| a |\n|---|\n| b | c | d |", "[link](", "<div><p>html",
                                    "```\nunterminated fence", "- " * 200 + "deep", "> " * 100 + "quote",
                                    "$$ \\frac{ $$", "#" * 10 + " not a heading"])
def test_malformed_markdown_renders(source):
    r = render(load_document(source + "\n", "m.md"), "glyph-en", count_text=False)
    assert r.pages


def test_big_table_renders():
    rows = "\n".join(f"| {i} | value {i} | {'x' * (i % 50)} |" for i in range(10_000))
    doc = load_document("| a | b | c |\n|---|---|---|\n" + rows + "\n", "t.md")
    c = count(doc, "glyph-en")
    assert len(c.pages) > 50


def test_markdown_golden_page():
    import os
    from pathlib import Path

    from PIL import Image

    golden = Path(__file__).resolve().parents[1] / "golden" / "markdown.png"
    img = render(parse_markdown(MD), "tight", count_text=False).pages[0].image
    if os.environ.get("GLYPHPRESS_UPDATE_GOLDEN"):
        img.save(golden)
    want = Image.open(golden)
    assert img.size == want.size and img.mode == want.mode
    diff = np.abs(np.asarray(img, dtype=np.int16) - np.asarray(want, dtype=np.int16))
    assert diff.mean() < 0.2 and (diff > 64).any(axis=-1).sum() <= 40  # a few pixels of another FreeType at most


def test_table_header_repeats_on_each_page():
    rows = "\n".join(f"| {i} | value {i} |" for i in range(300))
    doc = parse_markdown("| num | val |\n|---|---|\n" + rows + "\n")
    r = render(doc, "glyph-en", count_text=False)
    assert len(r.pages) >= 3
    from glyphpress.layout.engine import LayoutEngine

    eng = LayoutEngine(preset("glyph-en"))
    flow = to_flow(doc, preset("glyph-en"))
    pages = list(eng.pages(flow))
    for page in pages:
        first = flow.text[page.line_start[0]: page.line_end[0]]
        assert first.startswith("num"), first  # every page starts with the header row
    for a, b in zip(r.pages, r.pages[1:]):
        assert a.source_range[1] == b.source_range[0]
