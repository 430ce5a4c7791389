"""The glyph layout puts the same text on the same pages as the published Glyph renderer.

The reference is the published pipeline itself (ReportLab platypus with the published steps,
``glyphpress.evaluate.published``): texts made here, laid out by both, compared page by page (the
text each page holds) and, on small pages, line by line."""

import random

import numpy as np
import pytest

from glyphpress import load_config, render
from glyphpress.evaluate import published
from glyphpress.layout.engine import LayoutEngine

from ..conftest import FONTS
from .synthetic_font import CJK, build


def english(seed: int, lines: int = 700, blank: float = 0.12) -> str:
    rng = random.Random(seed)
    words = ("the of and a to in is you that it he was for on are as with his they I at be this have from or "
             "one had by word but not what all were we when your can said there use an each which she do how "
             "their if will up other about out many then them these so some her would make like him into time "
             "has look two more write go see number no way could people my than first water been call who oil "
             "well-known state-of-the-art (parenthesised) [1] 3.14159 naïve café — “quoted” don't").split()
    out = []
    for _ in range(lines):
        r = rng.random()
        if r < blank:
            out.append("")  # blank lines, runs of them
        elif r < blank + 0.03:
            out.append("  " * rng.randint(1, 3) + "indented with runs of spaces")
        elif r < blank + 0.05:
            out.append("https://example.com/" + "very-long-path-segment/" * rng.randint(2, 9) + "end")
        elif r < blank + 0.07:
            out.append("tab\tseparated\t\tcolumns \t and\u00a0no-break\u00a0spaces, soft\u00adhyphen zero\u200bwidth")
        else:
            n = rng.choice([1, 3, 8, 14, 25, 40, 70])
            line = " ".join(rng.choice(words) for _ in range(n))
            if rng.random() < 0.2:
                line = line.replace(" ", "  ", 2)  # double spaces stay as no-break spaces
            if rng.random() < 0.1:
                line += " " * rng.randint(1, 3)  # trailing spaces
            out.append(line)
    return "\n".join(out)


def chinese(seed: int, lines: int = 700) -> str:
    rng = random.Random(seed)
    out = []
    for _ in range(lines):
        r = rng.random()
        if r < 0.1:
            out.append("")
        else:
            parts = []
            for _ in range(rng.choice([1, 5, 20, 60, 150])):
                parts.append(rng.choice(CJK[:400]) if rng.random() < 0.8 else rng.choice(CJK[400:]))
                if rng.random() < 0.04:
                    parts.append(" ")
                if rng.random() < 0.03:
                    parts.append(rng.choice(["GLM-4.1V", "Qwen3 8B", "rho=3.5", "  x  "]))
            out.append("".join(parts))
    return "\n".join(out)


SMALL = ["page-size=300,260", "margin-x=8", "margin-y=9"]
ENGLISH_CASES = {
    "published-en": [],
    "marker": ["newline-markup=marker"],
    "justify-indents": ["alignment=JUSTIFY", "first-line-indent=14", "left-indent=6", "right-indent=11"],
    "right-spacing": ["alignment=RIGHT", "space-before=4", "space-after=7"],
    "small-pages": SMALL,
    "small-marker-centre": SMALL + ["newline-markup=marker", "alignment=CENTER", "space-after=3"],
    "dpi-size": ["dpi=96", "font-size=11", "line-height=13.7", "margin-x=17.5"],
    "border-hscale": ["border-width=2", "border-padding=3", "horizontal-scale=0.85"],
}


def agreement(text: str, cfg) -> published.Agreement:
    """Pages holding the same text; and, page by page, lines with ink on the same baselines."""
    pdf = published.build_pdf(text, cfg)
    r = render(text, cfg, count_text=False)
    got = published.page_agreement(text, cfg, [p.source_range for p in r.pages], pdf)
    k = cfg.dpi / 72
    theirs = [[y * k for y in page] for page in published.baselines(pdf)]
    ours = [sorted(set(lay.line_base[np.unique(lay.gline)].tolist())) for lay in LayoutEngine(cfg).pages(text)]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):  # the pixel row a baseline falls in (pdfium reads positions in float32)
        assert len(a) == len(b) and all(-0.01 < y - row < 1.01 for row, y in zip(a, b))
    return got


@pytest.mark.parametrize("case", list(ENGLISH_CASES))
def test_same_pages_as_the_published_renderer(case):
    cfg = load_config("glyph-en", [f"font-path={FONTS / 'DejaVuSans.ttf'}", *ENGLISH_CASES[case]])
    got = agreement(english(seed=len(case), blank=0.4 if "small" in case else 0.12), cfg)
    assert got.published_pages > 3
    assert (got.glyphpress_pages, got.same_text) == (got.published_pages, got.published_pages)


@pytest.fixture(scope="module")
def cjk_font(tmp_path_factory):
    return build(tmp_path_factory.mktemp("font") / "GlyphpressTest.ttf")


@pytest.mark.parametrize("sets", [[], ["newline-markup=marker"], SMALL, SMALL + ["newline-markup=marker"],
                                  ["alignment=RIGHT", "first-line-indent=20"]])
def test_same_pages_with_cjk_wrapping(cjk_font, sets):
    """A text with an ideograph wraps per character (ReportLab's CJK wrapping), with its rules for Latin
    runs, closing punctuation and split paragraphs."""
    cfg = load_config("glyph-zh", [f"font-path={cjk_font}", *sets])
    got = agreement(chinese(seed=len(sets)), cfg)
    assert got.published_pages > 3
    assert (got.glyphpress_pages, got.same_text) == (got.published_pages, got.published_pages)


def test_the_published_default_is_not_the_tight_layout():
    """The comparison can fail: the tight layout, measured the same way, holds other text on its pages."""
    text = english(seed=3)
    cfg = load_config("glyph-en", [f"font-path={FONTS / 'DejaVuSans.ttf'}"])
    tight = render(text, cfg.replace(layout="tight"), count_text=False)
    got = published.page_agreement(text, cfg, [p.source_range for p in tight.pages])
    assert got.same_text < got.published_pages // 2
