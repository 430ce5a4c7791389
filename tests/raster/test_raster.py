import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageColor

from glyphpress import preset, render
from glyphpress.layout.engine import LayoutEngine
from glyphpress.raster import draw as draw_module
from glyphpress.raster.draw import Rasterizer

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
GOLDEN_TEXT = ("Golden page: The quick brown fox jumps over the lazy dog. 0123456789 (fractional advances)\n"
               "Fallback: 中文 日本語 한국어 → ≈ π ± € ©\n\n"
               + "Justified text wraps across the measure and fills every line but the last one. " * 12)
GOLDEN_CASES = {
    "glyph_en.png": {},
    "justify_2col_marker.png": {"alignment": "JUSTIFY", "columns": 2, "newline_markup": "marker",
                                "page_bg_color": "#F5F0E0", "font_color": "#202040"},
}


def draw(text, **changes):
    cfg = preset(changes.pop("preset", "glyph-en")).replace(**changes)
    eng = LayoutEngine(cfg)
    r = Rasterizer(eng)
    return [r.draw(p) for p in eng.pages(text)]


def ink_columns(img):
    a = 255 - np.asarray(img.convert("L"), dtype=np.int32)
    return a.sum(axis=0)


@pytest.mark.parametrize("name", list(GOLDEN_CASES))
def test_golden_images(name):
    img = draw(GOLDEN_TEXT, **GOLDEN_CASES[name])[0]
    path = GOLDEN / name
    if os.environ.get("GLYPHPRESS_UPDATE_GOLDEN"):
        img.save(path)
    want = Image.open(path)
    assert img.size == want.size and img.mode == want.mode
    a = np.asarray(img, dtype=np.int16)
    b = np.asarray(want, dtype=np.int16)
    diff = np.abs(a - b)
    assert diff.mean() < 1.0, "page differs from the golden image on average"
    assert (diff > 64).mean() < 0.002, "too many pixels differ strongly from the golden image"


def test_deterministic_bytes():
    one = render(GOLDEN_TEXT * 5, "glyph-en", count_text=False).pages
    two = render(GOLDEN_TEXT * 5, "glyph-en", count_text=False).pages

    def png(p):
        buf = io.BytesIO()
        p.image.save(buf, "PNG")
        return buf.getvalue()

    assert [png(p) for p in one] == [png(p) for p in two]


def test_even_letter_spacing_at_9pt_72dpi():
    """Fractional advances: 'l' repeated must give evenly spaced stems (no 1-px jitter pattern)."""
    img = draw("l" * 60, auto_crop_width=False)[0]
    cols = ink_columns(img)
    peaks = np.flatnonzero((cols[1:-1] > cols[:-2]) & (cols[1:-1] >= cols[2:])) + 1
    gaps = np.diff(peaks)
    assert len(peaks) >= 55
    assert gaps.max() - gaps.min() <= 1
    # the average spacing equals the design advance (2.5 px for DejaVu Sans 'l' at 9 px)
    assert np.mean(gaps) == pytest.approx(2.5, abs=0.05)


def test_fallback_fonts_leave_no_tofu():
    eng = LayoutEngine(preset("glyph-en"))
    for ch in "中日한→π€©":
        assert eng.fonts.covered(ord(ch)), ch
    tofu = draw("\U000F0000")[0]  # private use: nobody has it -> the .notdef box
    cjk = draw("中")[0]
    assert not np.array_equal(np.asarray(tofu), np.asarray(cjk))


def test_colours_backgrounds_borders():
    img = draw("colour test " * 30, font_color="#FF0000", page_bg_color="#0000FF", para_bg_color="#00FF00",
               border_width=1, border_padding=2, auto_crop_width=False)[0]
    assert img.mode == "RGB"
    a = np.asarray(img)
    assert tuple(a[-1, -1]) == (0, 0, 255)  # page background in the corner
    colours = {tuple(c) for c in a.reshape(-1, 3)[::7]}
    assert (0, 255, 0) in colours  # paragraph background
    assert any(r > 200 and g < 60 and b < 60 for r, g, b in colours)  # red text


def test_marker_is_drawn_in_its_colour():
    img = draw("a\nb\nc", newline_markup="marker")[0]
    a = np.asarray(img)
    assert img.mode == "RGB"
    assert ((a[..., 0] > 200) & (a[..., 1] < 80)).any()


def test_auto_crop_and_horizontal_scale():
    full = draw("short", auto_crop_width=False, auto_crop_last_page=False)[0]
    crop = draw("short")[0]
    assert full.size == (595, 842)
    assert crop.width < 80 and crop.height < 40
    scaled = draw("some text " * 200, horizontal_scale=0.75, auto_crop_width=False)[0]
    assert scaled.width == round(595 * 0.75)


def test_dpi_scales_pages():
    assert draw("x", dpi=144, auto_crop_width=False, auto_crop_last_page=False)[0].size == (1190, 1684)


def test_shaped_scripts_render_without_crash():
    img = draw("שלום עולם مرحبا بالعالم नमस्ते e\u0301 Z\u0335\u0321\u0362")[0]
    assert (np.asarray(img) < 128).any()


def naive_coverage(r: Rasterizer, page, only=None) -> np.ndarray:
    """Reference: every glyph's atlas bitmap (those selected by ``only``) max-blended at its own place, one
    glyph at a time."""
    W, H = page.size
    cov = np.zeros((H, W), dtype=np.uint8)
    only = np.ones(len(page.gid), dtype=bool) if only is None else only
    gx, gid, gline = page.gx[only], page.gid[only], page.gline[only]
    ix = np.floor(gx).astype(np.int64)
    snap = np.floor if r.eng.published else np.rint  # poppler's rule in the published layout
    phase = snap((gx - ix) * 4).astype(np.int64)
    ix[phase == 4] += 1
    phase[phase == 4] = 0
    keys = r.eng.glyphs.per_gid("shape_of_gid")[gid] * 4 + phase
    r._render_entries(keys)

    def over(a, b):  # poppler composites a glyph over what is there: 255 - (255-a)(255-b)/255, its rounding
        v = (255 - a.astype(np.int64)) * (255 - b.astype(np.int64))
        return (255 - ((v + (v >> 8) + 0x80) >> 8)).astype(np.uint8)

    combine = over if r.eng.published else np.maximum
    for x, k, line in zip(ix.tolist(), keys.tolist(), gline.tolist()):
        w = int(r.entry_w[k])
        if not w:
            continue
        bmp = r.atlas[r.entry_col[k]: r.entry_col[k] + w].T  # (height, w)
        x0, y0 = x + int(r.entry_off[k]), int(page.line_base[line]) - r.baseline_row
        xa, ya = max(0, -x0), max(0, -y0)
        xb, yb = min(w, W - x0), min(r.height, H - y0)
        if xb > xa and yb > ya:
            dst = cov[y0 + ya: y0 + yb, x0 + xa: x0 + xb]
            dst[:] = combine(dst, bmp[ya:yb, xa:xb])
    return cov


@pytest.mark.parametrize("changes", [{}, {"columns": 2}, {"line_height": 10.5}, {"margin_y": 0},
                                     {"preset": "dense"}, {"alignment": "JUSTIFY", "space_after": 3},
                                     {"line_height": 30}, {"line_height": 7}, {"line_height": 5, "margin_y": 0},
                                     {"preset": "tight", "line_height": 6},
                                     {"line_height": 7, "space_before": 2.3, "text": "Short line, jg.\n" * 200}])
def test_page_drawing_equals_glyph_by_glyph_blending(changes):
    """Lines on one grid are drawn with strided views, others line by line: both equal the reference."""
    changes = dict(changes)
    text = changes.pop("text", ("Tight kerning, long words, ffi fl ligatures; WAVY Type — and \"quotes\".\n\n" * 3
                                + "Paragraph that wraps around the measure again and again. " * 40 + "\n") * 3)
    cfg = preset(changes.pop("preset", "glyph-en")).replace(**changes)
    eng = LayoutEngine(cfg)
    r = Rasterizer(eng)
    pages = list(eng.pages(text))[:2]
    for page in pages:
        cov = np.zeros((page.size[1], page.size[0]), dtype=np.uint8)
        r._coverage(page, cov)
        assert np.array_equal(cov, naive_coverage(r, page))


CODE = "".join(f"def f{i}(x: int = {i}) -> str:  # the {i}th, jg|\n    return 'value' + str(x * {i}) or None\n"
               for i in range(80))


@pytest.fixture(params=["native", "numpy"])
def pixel_loops(request, monkeypatch):
    """Each drawing test twice: with the native pixel loops (which the test install builds) and with the
    NumPy code that draws where they are not built."""
    if request.param == "native":
        assert draw_module.native is not None  # setup.py's extension: pip install -e . builds it
    else:
        monkeypatch.setattr(draw_module, "native", None)
    return request.param


@pytest.mark.parametrize("changes", [{}, {"line_height": 7}, {"line_height": 6, "letter_spacing": -0.8},
                                     {"line_height": 7, "margin_y": 3.5}, {"line_height": 4},
                                     {"line_height": 5, "columns": 2, "margin_y": 0},
                                     {"preset": "glyph-en"}, {"preset": "glyph-en", "line_height": 7}])
def test_colour_pages_equal_one_image_per_colour(changes, pixel_loops):
    """Highlighted code is drawn in one pass; it equals an image per colour (glyph by glyph) blended over
    the page in turn, where ink of different colours meets (close lines, overlapping glyphs) as well."""
    from glyphpress.document import load_document
    from glyphpress.document.flatten import to_flow

    changes = dict(changes)
    cfg = preset(changes.pop("preset", "code")).replace(**changes)
    eng = LayoutEngine(cfg)
    r = Rasterizer(eng)

    def blend(v):  # v / 255 rounded: to nearest (tight layout), as poppler's Splash does (glyph layout)
        return (v + (v >> 8) + 0x80) >> 8 if eng.published else (v + 127) // 255

    for page in list(eng.pages(to_flow(load_document(CODE, "x.py", "code"), cfg)))[:2]:
        colour = eng.glyphs.per_gid("colour_of_gid")[page.gid]
        out = np.full((page.size[1], page.size[0], 3), 255, dtype=np.int64)
        for ci in np.unique(colour).tolist():
            a = naive_coverage(r, page, colour == ci).astype(np.int64)[..., None]
            rgb = np.array(ImageColor.getrgb(eng.glyphs.palette[ci]), dtype=np.int64)
            out = blend(out * (255 - a) + rgb * a)
        got = np.asarray(r.draw(page))
        assert len(np.unique(colour)) >= 4 and got.ndim == 3
        assert np.array_equal(got, out[: got.shape[0], : got.shape[1]].astype(np.uint8))


def test_a_sequence_raqm_cannot_shape_is_drawn_unshaped():
    img = draw("\x1e\u0590 \u05d0\u05d1")[0]  # raqm_layout() fails on the unassigned Hebrew-block point
    assert ink_columns(img).sum() > 0


def test_the_atlas_keeps_every_glyph_whole():
    """Glyphs are copied into the atlas with all their ink, however far above or below the line
    box it reaches (accents, tall fallback glyphs), and the atlas keeps no empty rows."""
    from PIL import Image, ImageDraw

    eng = LayoutEngine(preset("tight"))  # glyphs drawn by Pillow, to compare with Pillow's own drawing
    r = Rasterizer(eng)
    text = "Ag|ÅǺȘ∫∑√{}中文한글€" + "\u0301"
    page = next(iter(eng.pages(text)))
    r._coverage(page, np.zeros((page.size[1], page.size[0]), np.uint8))
    ink_rows = np.flatnonzero(r.atlas[: r.atlas_used].any(axis=0))
    assert ink_rows[0] == 0 and ink_rows[-1] == r.height - 1
    gids = sorted(set(page.gid.tolist()))
    assert len(gids) >= 15
    shapes = eng.glyphs.per_gid("shape_of_gid")
    r._render_entries(shapes[np.array(gids)] * 4)  # every glyph at phase 0
    for gid in gids:
        cp = eng.glyphs.cp_of_gid[gid]
        chain = eng.glyphs.chains[eng.glyphs.chain_of_gid[gid]]
        face = chain.face(int(chain.face_of[np.array([cp])][0]))
        img = Image.new("L", (200, 200))
        ImageDraw.Draw(img).text((60, 120), chr(cp), fill=255, font=face.pil, anchor="ls")
        key = int(shapes[gid]) * 4
        col, w = int(r.entry_col[key]), int(r.entry_w[key])
        assert int(r.atlas[col: col + w].astype(np.int64).sum()) == int(np.asarray(img).astype(np.int64).sum()), chr(cp)


@pytest.mark.parametrize("name", ["code", "glyph-en"])
def test_native_loops_draw_the_numpy_pixels_where_many_lines_overlap(name, monkeypatch):
    """Lines 4 px apart: each pixel under the ink of three or four lines of several colours, merged in the
    same order either way (poppler's "over" rounds, so the order shows)."""
    from glyphpress.document import load_document
    from glyphpress.document.flatten import to_flow

    assert draw_module.native is not None
    cfg = preset(name).replace(line_height=4)
    flow = to_flow(load_document(CODE, "x.py", "code"), cfg)

    def pages():
        eng = LayoutEngine(cfg)
        r = Rasterizer(eng)
        return [np.asarray(r.draw(page)) for page in eng.pages(flow)]

    native = pages()
    monkeypatch.setattr(draw_module, "native", None)
    assert all(np.array_equal(a, b) for a, b in zip(native, pages(), strict=True))


def test_grey_pages_in_several_greys_keep_their_own_pixels(pixel_loops):
    """Pages in two greys come out as ``L`` images; each keeps its pixels after the next page is drawn (the
    page drawn into a buffer kept for the next page must not be what the image holds)."""
    from glyphpress.document import load_document
    from glyphpress.document.flatten import to_flow

    cfg = preset("code")
    code = "".join(f"alpha{i} = {i} + {i * 7} * beta{' - 1' * (i % 7)}\n" for i in range(400))
    flow = to_flow(load_document(code, "x.py", "code"), cfg)  # names black, numbers and operators grey

    def drawn(keep_images: bool):
        eng = LayoutEngine(cfg)
        r = Rasterizer(eng)
        return [r.draw(page) if keep_images else np.array(r.draw(page)) for page in eng.pages(flow)]

    kept, copied = drawn(True), drawn(False)  # images kept till the end; copied as soon as drawn
    assert len(kept) >= 3 and all(img.mode == "L" for img in kept)
    assert all(np.array_equal(np.asarray(img), c) for img, c in zip(kept, copied, strict=True))
