"""Arbitrary Unicode never crashes the engine, and every character lands on exactly one page, in order."""

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glyphpress import preset
from glyphpress.layout.engine import LayoutEngine
from glyphpress.raster.draw import Rasterizer

SMALL_PAGE = {"page_size": (160, 120), "margin_x": 5, "margin_y": 5}
CONFIGS = {
    "left": preset("glyph-en").replace(**SMALL_PAGE),
    "justify-marker": preset("glyph-en").replace(alignment="JUSTIFY", newline_markup="marker", **SMALL_PAGE),
    "cols-spaced": preset("glyph-en").replace(columns=2, space_before=3, space_after=2, border_width=1,
                                              first_line_indent=8, **{**SMALL_PAGE, "page_size": (300, 120)}),
    "right-cjk": preset("glyph-zh").replace(alignment="RIGHT", **SMALL_PAGE),
    "tight": preset("tight").replace(**SMALL_PAGE),
    "tight-justify-marker": preset("tight").replace(alignment="JUSTIFY", newline_markup="marker", **SMALL_PAGE),
    "tight-cols-cjk": preset("glyph-zh").replace(layout="tight", columns=2, border_width=1,
                                                 **{**SMALL_PAGE, "page_size": (300, 120)}),
}
ENGINES = {name: LayoutEngine(cfg) for name, cfg in CONFIGS.items()}
RASTERS = {name: Rasterizer(eng) for name, eng in ENGINES.items()}

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=400) | \
    st.lists(st.sampled_from(["word", " ", "  ", "\n", "\t", "中文", "。", "（", "-", "x" * 60, "e\u0301",
                              "\u200b", "שלום", "😀", "\x00", "\u00ad"]), min_size=1, max_size=80).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, name=st.sampled_from(sorted(CONFIGS)))
def test_pages_partition_the_text_in_order(text, name):
    eng = ENGINES[name]
    pages = list(eng.pages(text))
    assert pages, "at least one page"
    assert pages[0].source_range[0] == 0
    assert pages[-1].source_range[1] == len(text)
    for a, b in zip(pages, pages[1:]):
        assert a.source_range[1] == b.source_range[0]
        assert a.source_range[0] <= a.source_range[1]
    # lines inside a page stay inside its range, in order
    for p in pages:
        lo, hi = p.source_range
        starts = p.line_start.tolist()
        assert starts == sorted(starts)
        assert all(lo <= s <= e <= hi for s, e in zip(starts, p.line_end.tolist()))
    # every character with ink appears in exactly one line
    covered = [0] * len(text)
    for p in pages:
        for s, e in zip(p.line_start.tolist(), p.line_end.tolist()):
            for i in range(s, e):
                covered[i] += 1
    for i, ch in enumerate(text):
        if not ch.isspace() and unicodedata.category(ch)[0] not in "CZ":
            assert covered[i] == 1, (i, ch)
        else:
            assert covered[i] <= 1, (i, ch)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, name=st.sampled_from(sorted(CONFIGS)))
def test_rasterising_never_crashes(text, name):
    eng, r = ENGINES[name], RASTERS[name]
    for p in eng.pages(text):
        img = r.draw(p)
        size = r.size(p)  # known before drawing where the layout alone decides it
        assert size is None or img.size == size


markdownish = st.lists(st.sampled_from(["# head", "## sub", "- item", "1. num", "> quote", "```", "code()", "| a | b |",
                                        "|---|---|", "**bold**", "*it*", "`c`", "$x^2$", "$$", "\\frac{a", "---", "",
                                        "text with words", "中文", "[l](u)", "![i](x.png)", "<b>html</b>"]),
                       min_size=1, max_size=40).map("\n".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=markdownish)
def test_markdown_pages_partition_the_source(source):
    from glyphpress import render
    from glyphpress.document import parse_markdown

    if not source.strip():
        return
    r = render(parse_markdown(source), CONFIGS["left"], count_text=False)
    assert r.pages[0].source_range[0] == 0 and r.pages[-1].source_range[1] == len(source)
    for a, b in zip(r.pages, r.pages[1:]):
        assert a.source_range[1] == b.source_range[0]
        assert a.source_range[0] <= a.source_range[1]
