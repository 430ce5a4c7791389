"""Pages of the glyph layout look like the published renderer's: poppler's pages of the same text."""


import numpy as np
import pytest

from glyphpress import load_config, render
from glyphpress.evaluate import published

from .. import needs
from ..conftest import FONTS
from ..layout.test_published import english

needs_poppler = needs.tool("pdftoppm", "poppler-utils")


@needs_poppler
@pytest.mark.parametrize("sets, limit", [
    ([], 0.0005), (["dpi=96", "alignment=JUSTIFY"], 0.005), (["newline-markup=marker"], 0.005),
    (["dpi=120", "page-bg-color=#E8E4D8", "font-color=#202060", "horizontal-scale=0.8"], 0.25)])
def test_pixels_close_to_poppler(sets, limit):
    """Black on white, pages are the same but for a few pixels (one FreeType's rounding against another's):
    pens advance by the PDF's widths one character after another, as poppler reads them, and a paragraph's
    rectangle paints over the descenders above it as ReportLab's does. Colours and scaling leave more,
    though still little, difference."""
    cfg = load_config("glyph-en", [f"font-path={FONTS / 'DejaVuSans.ttf'}", *sets])
    text = english(seed=11, lines=160)
    theirs = published.rasterize(published.build_pdf(text, cfg), cfg)
    ours = [p.image for p in render(text, cfg, count_text=False).pages]
    assert [im.size for im in ours] == [im.size for im in theirs]  # the same crops
    diffs = [published.mean_abs_diff(a, b) for a, b in zip(ours, theirs)]
    assert max(diffs) < limit, diffs  # grey levels out of 255


def test_glyphs_are_drawn_at_quarter_pixels_without_hinting():
    """The published layout's glyph bitmaps come from FreeType without hinting, at the pen's quarter-pixel
    phase (as poppler draws them): each phase moves the ink, and keeps its amount."""
    from glyphpress.layout.engine import LayoutEngine
    from glyphpress.raster.glyphs import PopplerGlyphs

    face = LayoutEngine(load_config("glyph-en")).fonts.face(0)
    glyphs = PopplerGlyphs()
    bitmaps = [glyphs.bitmap(face, "l", phase) for phase in range(4)]
    centres = []
    for bmp, x, _base in bitmaps:
        cols = bmp.astype(float).sum(axis=0)
        centres.append((cols * (np.arange(len(cols)) - x)).sum() / cols.sum())
    assert all(0.15 < b - a < 0.35 for a, b in zip(centres, centres[1:]))  # a quarter pixel each
    ink = [int(b.astype(int).sum()) for b, _, _ in bitmaps]
    assert max(ink) - min(ink) < 0.05 * max(ink)


@needs_poppler
def test_control_characters_are_boxes_as_on_the_published_pages():
    """ReportLab looks no control character up in the font: each is drawn as the font's .notdef box, with
    its width (a font's empty glyph for one, or another font's, does not count); white-space controls
    separate words. The box reaches further than the letters: drawn by a fresh rasterizer, whose atlas grows
    for it on a page where a paragraph's rectangle covers the descenders above it."""
    from glyphpress.layout.engine import LayoutEngine
    from glyphpress.raster.draw import Rasterizer

    cfg = load_config("glyph-en", [f"font-path={FONTS / 'DejaVuSans.ttf'}"])
    text = "".join(f"Line {i}: gone \x97 till\x01I can\x7fread \x00 it\x1fthrough.\n" for i in range(40))
    theirs = published.rasterize(published.build_pdf(text, cfg), cfg)
    eng = LayoutEngine(cfg)
    ours = [Rasterizer(eng).draw(p) for p in eng.pages(text)]
    assert [im.size for im in ours] == [im.size for im in theirs]
    assert max(published.mean_abs_diff(a, b) for a, b in zip(ours, theirs)) < 0.005
    assert render(text, cfg, count_text=False).missing_glyphs == {"\x97": 40, "\x01": 40, "\x7f": 40, "\x00": 40}
