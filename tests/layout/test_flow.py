import numpy as np

from glyphpress import preset
from glyphpress.layout.engine import LayoutEngine
from glyphpress.layout.flow import Flow, Paragraphs, ParaSpec, Style
from glyphpress.raster.draw import Rasterizer

TEXT = "Big heading\nbody with bold words " + "and more body text " * 30 + "\nindented code line\n"


def styled_flow():
    sty = np.zeros(len(TEXT), np.uint8)
    sty[: len("Big heading")] = 1
    i = TEXT.index("bold")
    sty[i: i + 4] = 2
    i = TEXT.index("indented")
    sty[i: i + len("indented code line")] = 3
    table = (Style(), Style("DejaVu Sans Bold", 1.8), Style("DejaVu Sans Bold"), Style("mono", 1.0, "#AA0000"))
    paras = Paragraphs.build([ParaSpec(after=8), ParaSpec(), ParaSpec(indent=20, before=4, align=0)])
    return Flow(TEXT, sty, table, paras)


def test_styles_change_advances_heights_and_colours():
    eng = LayoutEngine(preset("tight"))
    plain = list(eng.pages(TEXT))[0]
    styled = list(eng.pages(styled_flow()))[0]
    # the heading line is taller, and the space after it pushes the body down
    assert styled.line_base[1] - styled.line_base[0] > plain.line_base[1] - plain.line_base[0] + 8
    # the code paragraph starts 20 pt in
    code_line = len(styled.line_base) - 1
    first_x = styled.gx[styled.gline == code_line].min()
    assert first_x >= eng.geometry.margin_x + 20
    img = Rasterizer(eng).draw(styled)
    a = np.asarray(img.convert("RGB")).astype(int)
    assert ((a[..., 0] > 120) & (a[..., 1] < 60)).any()  # red code text
    # plain text through the same engine afterwards is unchanged (styles are per flow)
    again = list(eng.pages(TEXT))[0]
    np.testing.assert_array_equal(again.gx, plain.gx)


def test_styled_pages_partition_the_text():
    eng = LayoutEngine(preset("glyph-en").replace(page_size=(300, 120)))
    flow = styled_flow()
    pages = list(eng.pages(flow))
    assert len(pages) > 1
    assert pages[0].source_range[0] == 0 and pages[-1].source_range[1] == len(TEXT)
    for a, b in zip(pages, pages[1:]):
        assert a.source_range[1] == b.source_range[0]
