import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glyphpress import preset
from glyphpress.layout import engine as engine_mod
from glyphpress.layout.engine import LayoutEngine
from glyphpress.layout.fonts import font_file
from glyphpress.layout.glyphs import MARKER_GID


def layout(text, **changes):
    """The tight layout's rules (the published layout has tests of its own)."""
    cfg = preset(changes.pop("preset", "tight")).replace(**changes)
    eng = LayoutEngine(cfg)
    return eng, list(eng.pages(text))


def lines(text, **changes):
    _, pages = layout(text, **changes)
    return [text[a:b] for p in pages for a, b in zip(p.line_start.tolist(), p.line_end.tolist())]


def test_latin_breaks_at_spaces_and_fills_lines():
    text = " ".join(["alpha", "beta", "gamma", "delta"] * 60)
    ls = lines(text)
    assert len(ls) > 3
    assert all(not ln.startswith(" ") and not ln.endswith(" ") for ln in ls)
    assert " ".join(ls) == text  # only the breaking spaces disappear
    eng, pages = layout(text)
    right = pages[0].line_right
    assert (right[:-1] > eng.geometry.margin_x + eng.geometry.col_w - 60).all()  # greedy lines are nearly full


def test_hyphen_is_a_break_opportunity():
    word = "well-known-" * 3 + "x"
    text = ("a " + word + " ") * 40
    ls = lines(text, page_size=(120, 842))
    assert any(ln.endswith("-") for ln in ls)


def test_word_longer_than_the_line_breaks_anywhere():
    text = "x" * 5000
    eng, pages = layout(text)
    ls = [text[a:b] for p in pages for a, b in zip(p.line_start.tolist(), p.line_end.tolist())]
    assert "".join(ls) == text
    assert len(ls) > 10
    assert max(p.line_right.max() for p in pages) <= eng.geometry.margin_x + eng.geometry.col_w + 1e-6


def test_cjk_breaks_between_ideographs_with_kinsoku():
    text = "视觉文本压缩把长文本渲染成紧凑的页面图像，再由视觉语言模型阅读。" * 40
    ls = lines(text, preset="glyph-zh", layout="tight")
    assert len(ls) > 3
    assert "".join(ls) == text
    for ln in ls[1:]:
        assert ln[0] not in "，。、）」"  # closing punctuation never starts a line
    for ln in ls:
        assert ln[-1] not in "（「"


def test_mixed_scripts_and_runs_of_spaces_kept():
    text = "English 中文 mixed     with    runs of spaces\tand\ttabs"
    ls = lines(text)
    assert ls == [text]
    eng, pages = layout(text)
    one_space = eng.fonts.advance[np.array([32])][0]
    assert pages[0].line_right[0] > eng.geometry.margin_x + 40 * one_space  # runs of spaces take room


def test_tab_advances_tab_size_spaces():
    eng, p1 = layout("a\tb")
    _, p2 = layout("a    b")
    assert p1[0].gx[1] == pytest.approx(p2[0].gx[1])


def test_real_newlines_and_blank_lines():
    text = "one\n\nthree\nfour"
    assert lines(text) == ["one", "", "three", "four"]


def test_newline_marker_keeps_text_flowing():
    text = "one\ntwo\nthree"
    eng, pages = layout(text, newline_markup="marker")
    assert len(pages[0].line_start) == 1
    assert (pages[0].gid == MARKER_GID).sum() == 2


@pytest.mark.parametrize("alignment", ["RIGHT", "CENTER", "JUSTIFY"])
def test_alignment(alignment):
    text = " ".join(["lorem", "ipsum", "dolor", "sit", "amet", "consectetur"] * 40)
    eng, pages = layout(text, alignment=alignment)
    p = pages[0]
    full = eng.geometry.margin_x + eng.geometry.col_w
    if alignment in ("RIGHT", "JUSTIFY"):
        np.testing.assert_allclose(p.line_right[:-1], full, atol=1e-6)
    if alignment == "CENTER":
        left_gap = p.gx[np.r_[0, np.flatnonzero(np.diff(p.gline)) + 1]] - eng.geometry.margin_x
        right_gap = full - p.line_right
        np.testing.assert_allclose(left_gap[:-1], right_gap[:-1], atol=1.5)
    if alignment == "JUSTIFY":  # the last line of the paragraph stays left-aligned
        assert p.line_right[-1] < full - 20


def test_indents():
    text = ("word " * 200 + "\n") * 2
    eng, pages = layout(text, first_line_indent=20, left_indent=10, right_indent=30)
    p = pages[0]
    starts = p.gx[np.r_[0, np.flatnonzero(np.diff(p.gline)) + 1]]
    assert starts[0] == pytest.approx(eng.geometry.margin_x + 30)
    assert starts[1] == pytest.approx(eng.geometry.margin_x + 10)
    assert p.line_right.max() <= eng.geometry.margin_x + eng.geometry.col_w - 30 + 1e-6


def test_paragraph_spacing_moves_lines_down():
    text = "a\nb\nc"
    _, plain = layout(text)
    _, spaced = layout(text, space_before=6, space_after=6)
    assert np.diff(spaced[0].line_base).min() > np.diff(plain[0].line_base).max()


def test_pagination_and_source_ranges_partition_the_text():
    text = "\n".join(f"line {i} " + "text " * (i % 30) for i in range(3000))
    _, pages = layout(text)
    assert len(pages) > 5
    assert pages[0].source_range[0] == 0 and pages[-1].source_range[1] == len(text)
    for a, b in zip(pages, pages[1:]):
        assert a.source_range[1] == b.source_range[0]
    assert [p.index for p in pages] == list(range(len(pages)))


@pytest.mark.parametrize("columns", [2, 3])
def test_columns(columns):
    text = " ".join(["column"] * 3000)
    eng, pages = layout(text, columns=columns)
    lefts = np.unique(pages[0].line_left)
    assert len(lefts) == columns
    assert (np.diff(lefts) >= eng.geometry.col_w).all()


def test_chunked_layout_equals_one_pass(monkeypatch):
    """Streaming in chunks must not change a single line break."""
    text = ("Paragraph with several words that wrap around. " * 30 + "\n") * 40 + "y" * 3000
    want = lines(text)
    want_m = lines(text, newline_markup="marker")
    monkeypatch.setattr(engine_mod, "CHUNK_CHARS", 997)
    assert lines(text) == want
    assert lines(text, newline_markup="marker") == want_m


def test_complex_scripts_go_to_the_shaping_path():
    text = "Hebrew שלום עולם and Arabic مرحبا بالعالم and Devanagari नमस्ते"
    eng, pages = layout(text)
    runs = pages[0].shaped
    assert "".join(r.text for r in runs) == text
    for r in runs:  # each run drawn by a face that has every one of its letters
        f = font_file(eng.glyphs.chains[r.chain].specs[r.face])
        assert all(f.has(ord(ch)) for ch in r.text if not ch.isspace())
    assert runs[-1].text.endswith("नमस्ते") and runs[-1].x > runs[0].x


def test_zero_width_and_controls_take_no_room():
    eng, p1 = layout("ab")
    _, p2 = layout("a\u200b\u00ad\x00\x01b")
    assert p2[0].line_right[0] == pytest.approx(p1[0].line_right[0])


@pytest.mark.parametrize("changes", [{}, {"newline_markup": "marker"}, {"alignment": "JUSTIFY", "columns": 2}])
def test_layouts_travel_to_another_engine(changes):
    """Glyph ids are given out in the order glyphs are met, so each process numbers them its own way;
    a page laid out here and drawn by another renderer for the same θ (ids made portable and taken
    back) is identical to the page drawn here."""
    from glyphpress import Renderer

    text = ("Cafe\u0301 naïve — ümlaut, 中文字符, ∑ symbols and plain words. " * 40 + "\n") * 30
    cfg = preset("tight").replace(**changes)
    here, there = Renderer(cfg), Renderer(cfg)
    list(there.engine.pages("zyxw 字中 ∑ " + "".join(chr(c) for c in range(0x3a9, 0x370, -1))))
    pages = list(here.engine.pages(text))
    assert len(pages) > 2
    for lay in pages:
        travelled = dataclasses.replace(lay, gid=there.engine.glyphs.own(here.engine.glyphs.portable(lay.gid)))
        assert not np.array_equal(travelled.gid, lay.gid)  # each engine numbers glyphs its own way
        assert there.raster.draw(travelled).tobytes() == here.raster.draw(lay).tobytes()


def line_by_line(heights, before, after, y, col, page, col_h, columns):
    """Each line below the last, the space before it (none at the top of a column) and after it added; to
    the next column (and page) when it would overflow a column it does not open: (page, column, top) per
    line, and where the next line would go."""
    out = []
    for h, b, a in zip(heights, before, after):
        b = b if y > 0 else 0.0
        if y > 0 and y + b + h > col_h + 1e-6:
            col, y, b = col + 1, 0.0, 0.0
            if col == columns:
                col, page = 0, page + 1
        y += b
        out.append((page, col, y))
        y += h + a
    return out, y


lengths = st.floats(0.05, 900.0)


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.tuples(st.one_of(st.sampled_from([10.0, 12.5, 7.3, 0.1]), lengths),
                                st.sampled_from([0.0, 0.0, 2.0, 3.5]), st.one_of(st.just(0.0), lengths)),
                      min_size=1, max_size=400),
       start=st.floats(0.0, 800.0), columns=st.integers(1, 3), col=st.integers(0, 2))
def test_stacked_lines_go_where_line_by_line_puts_them(lines, start, columns, col):
    """Lines without padding, tables or breaks (code) are stacked a column at a time: the same pages,
    columns and tops, to the last bit, as placing them one by one."""
    from glyphpress.layout.paginate import TightPaginator

    heights, before, after = (list(v) for v in zip(*lines))
    eng = LayoutEngine(preset("code").replace(columns=columns))
    pag = TightPaginator(eng.document("x"), 1)
    pag.y, pag.col, pag.page = start, min(col, columns - 1), 3
    want, end = line_by_line(heights, before, after, pag.y, pag.col, pag.page, pag.geo.col_h, columns)
    page, column, top = pag._stack(np.array(heights), np.array(before), np.array(after))
    assert list(zip(page.tolist(), column.tolist(), top.tolist())) == want
    assert pag.y == end


@pytest.mark.parametrize("spacing", [{}, {"space_after": 6}, {"space_before": 6}])
def test_paragraph_spacing_keeps_code_lines_apart(spacing):
    """Each line of code is a paragraph: θ's spacing before or after one goes between every two lines
    (stacking whole columns at once is only for lines without it)."""
    from glyphpress.document import load_document
    from glyphpress.document.flatten import to_flow

    cfg = preset("code").replace(**spacing)
    code = "".join(f"def f{i}(x):\n    return {i}\n" for i in range(40))
    page = next(LayoutEngine(cfg).pages(to_flow(load_document(code, "x.py", "code"), cfg)))
    steps = set(np.diff(page.line_base).tolist())
    assert steps == {round(cfg.px(cfg.line_height) + cfg.px(sum(spacing.values())))}
