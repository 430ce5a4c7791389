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
