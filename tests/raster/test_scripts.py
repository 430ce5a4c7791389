"""Every major script has a font: no character drawn as a box, and the ink is the script's own letters.

The reference drawings come straight from the font packages' files (found here, not through
glyphpress) drawn by Pillow; a page that drew boxes, or drew a script with the wrong font, does not
match them."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from glyphpress import count, document, render
from glyphpress.cli import app
from glyphpress.config import load_config
from glyphpress.layout import engine as engine_mod

FONTS = Path(__file__).parents[2] / "src" / "glyphpress" / "fonts"

SAMPLES = {  # script: (text, the package that has a font for it, or a bundled file)
    "thai": ("ภาษาไทยเป็นภาษาราชการ", "fontpkg_noto_sans_thai"),
    "devanagari": ("हिन्दी भारत की राजभाषा है", "fontpkg_noto_sans_devanagari"),
    "arabic": ("اللغة العربية لغة سامية", FONTS / "DejaVuSans.ttf"),
    "arabic-extended": ("\u08a0\u08a1\u08a2 \u08a3\u08a4", "fontpkg_noto_sans_arabic"),
    "hebrew": ("עברית היא שפה שמית", FONTS / "DejaVuSans.ttf"),
    "tamil": ("தமிழ் ஒரு திராவிட மொழி", "fontpkg_noto_sans_tamil"),
    "telugu": ("తెలుగు ఒక ద్రావిడ భాష", "fontpkg_noto_sans_telugu"),
    "khmer": ("ភាសាខ្មែរ", "fontpkg_noto_sans_khmer"),
    "greek": ("Η ελληνική γλώσσα", FONTS / "DejaVuSans.ttf"),
    "cyrillic": ("Русский язык", FONTS / "DejaVuSans.ttf"),
    "cjk": ("中文字符日本語の文章한국어", "cvttf_NotoSansCJK_Regular"),
}


def package_font(source) -> tuple[str, int]:
    if isinstance(source, Path):
        return str(source), 0
    root = Path(list(importlib.util.find_spec(source).submodule_search_locations)[0])
    files = sorted(f for f in root.rglob("*") if f.suffix in (".ttf", ".otf") and "Italic" not in f.name)
    return str(files[0]), 0


def ink(img: Image.Image) -> np.ndarray:
    """Ink (0..1) cropped to its bounding box."""
    a = 1.0 - np.asarray(img.convert("L"), dtype=np.float64) / 255.0
    ys, xs = np.nonzero(a > 0.1)
    return a[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two ink images brought to the same size."""
    b = np.asarray(Image.fromarray((b * 255).astype(np.uint8)).resize(a.shape[::-1], Image.BILINEAR)) / 255.0
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


CFG = load_config("glyph-en", ["font-size=16", "auto-crop-last-page=true"])


@pytest.mark.parametrize("script", SAMPLES)
def test_script_drawn_with_its_own_letters(script):
    text, source = SAMPLES[script]
    r = render(text, CFG, count_text=False)
    assert r.missing_glyphs == {}
    got = ink(r.pages[0].image)
    path, index = package_font(source)
    size = CFG.font_size * CFG.dpi / 72
    font = ImageFont.truetype(path, size=size, index=index, layout_engine=ImageFont.Layout.RAQM)
    canvas = Image.new("L", (int(size * len(text) * 1.5) + 40, int(size * 3)), 255)
    ImageDraw.Draw(canvas).text((20, size * 2), text, fill=0, font=font, anchor="ls")
    want = ink(canvas)
    assert abs(got.shape[1] / want.shape[1] - 1) < 0.15, (got.shape, want.shape)
    assert similarity(want, got) > 0.6


def test_boxes_do_not_pass_for_letters():
    # what the test above guards against: the same count of characters no font has, drawn as boxes
    text, source = SAMPLES["thai"]
    r = render("\U000e0fff" * 6 + "\U0010fffd" * 6, CFG, count_text=False)
    assert sum(r.missing_glyphs.values()) == 12
    path, _ = package_font(source)
    size = CFG.font_size * CFG.dpi / 72
    font = ImageFont.truetype(path, size=size, layout_engine=ImageFont.Layout.RAQM)
    canvas = Image.new("L", (int(size * len(text) * 1.5) + 40, int(size * 3)), 255)
    ImageDraw.Draw(canvas).text((20, size * 2), text, fill=0, font=font, anchor="ls")
    assert similarity(ink(canvas), ink(r.pages[0].image)) < 0.6


def test_mixed_line_takes_a_font_per_script():
    # Latin, Thai and Devanagari on one line: each run drawn by the face that has it
    text = "Thai ภาษาไทย and Hindi हिन्दी together"
    r = render(text, CFG, count_text=False)
    assert r.missing_glyphs == {}


@pytest.mark.parametrize("preset", ["glyph-en", "tight", "code"])
def test_missing_glyphs_counted_in_every_layout(preset):
    text = "abc \U0010fffd\U0010fffd def \U000e0fff\n" * 3
    assert count(text, preset).missing_glyphs == {"\U0010fffd": 6, "\U000e0fff": 3}
    md = document.load_bytes(f"# T\U0010fffd\n\n*a\U000e0fff* b\n\n{text}".encode(), "doc.md")
    assert count(md, preset).missing_glyphs == {"\U0010fffd": 7, "\U000e0fff": 4}


def test_missing_glyphs_counted_in_the_manifest_and_warned_once(tmp_path):
    text = "abc \U0010fffd\U0010fffd def \U000e0fff\n" * 3
    src = tmp_path / "in.txt"
    src.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["render", str(src), "-o", str(out), "-c", "glyph-en"])
    assert res.exit_code == 0, res.output
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1
    assert "9 characters" in warnings[0] and "U+10FFFD" in warnings[0] and "U+E0FFF" in warnings[0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["totals"]["missing_glyphs"] == {"characters": 9, "distinct": {"\U0010fffd": 6, "\U000e0fff": 3}}
    clean = tmp_path / "clean.txt"
    clean.write_text("ภาษาไทย नमस्ते", encoding="utf-8")
    res = CliRunner().invoke(app, ["count", str(clean), "-c", "glyph-en"])
    assert res.exit_code == 0 and "warning" not in res.stderr
    control = tmp_path / "control.txt"  # a control character, drawn as a box, is named by its code point only
    control.write_text("gone \x97 till", encoding="utf-8")
    res = CliRunner().invoke(app, ["count", str(control), "-c", "glyph-en"])
    assert "warning: 1 character had no glyph in any font and was drawn as a box: (U+0097) x1" in res.stderr
    assert "\x97" not in res.stderr


@pytest.mark.parametrize("preset", ["glyph-en", "tight"])
def test_missing_glyphs_counted_once_across_chunks(preset, monkeypatch):
    # the engine lays text out in chunks and takes up a chunk's unfinished last line again in the next
    monkeypatch.setattr(engine_mod, "FIRST_CHUNK_CHARS", 499)
    monkeypatch.setattr(engine_mod, "CHUNK_CHARS", 997)
    text = "".join(f"word{i} \U0010fffd{' filler' * (i % 7)} " for i in range(400))
    assert count(text, preset).missing_glyphs == {"\U0010fffd": 400}


@pytest.mark.parametrize("preset", ["glyph-en", "tight"])
def test_newline_marker_and_tabs_inside_a_shaped_line(preset):
    # the marker keeps its own colour and place; a tab or a newline is never handed to the shaper as text
    text = "Hello สวัสดี world\nnext line\nthird\tline مرحبا\nend"
    cfg = load_config(preset, ["newline-markup=marker"])
    r = render(text, cfg, count_text=False)
    assert len(r.pages) == 1 and r.missing_glyphs == {}
    from glyphpress.layout.engine import LayoutEngine

    runs = list(LayoutEngine(cfg).pages(text))[0].shaped
    assert runs and all("\n" not in run.text and "\t" not in run.text for run in runs)
    assert "".join(run.text for run in runs).replace(" ", "") == text.replace("\n", "").replace("\t", "").replace(
        " ", "")
    a = np.asarray(r.pages[0].image.convert("RGB")).astype(int)
    red = (a[..., 0] > 150) & (a[..., 1] < 100) & (a[..., 2] < 100)
    assert red.sum() > 20  # three red markers drawn
    ink_rows = np.flatnonzero((a.min(axis=2) < 128).any(axis=1))
    assert ink_rows.max() - ink_rows.min() < 2.5 * cfg.px(cfg.line_height)  # one line of text, not three
