"""The style sampler for training data: θ drawn from the Glyph paper's Table 8 distributions (see the
reference facts), so a model learns to read pages in many styles, not one.

- dpi: a mixture of sets (lowest 45-59, low 60-71, medium 72-119, the normal values, high over 300), mostly
  normal and medium, small spikes to the extremes;
- page size: paper sizes (A4, Letter, Legal, A5, B5, A3, B4, Tabloid) with priors, common aspect ratios, and
  now and then a fully random aspect (narrow to tall);
- fonts: a pool of every bundled family (sans, serif, mono; upright and oblique) plus any font files a user
  adds, CJK text always with a CJK font; sizes {7, 7.5, 8, 9, 9.5, 10, 11, 12, 14} pt, line height the size
  plus 0-3 pt;
- alignment mostly left or justified; margins 10-40 pt, all equal, vertical larger or horizontal larger;
  indents none, first-line, block or hanging; paragraph spacing none, small or large; horizontal scale
  0.75-1.0, likelier near 1;
- colour themes (document, web, dark, code) as coherent (page, paragraph, font) triplets; optional paragraph
  borders; the newline marker with a small probability; auto-crop on or off.

Invalid combinations (a θ the config rejects, text left less than half the page's width) are drawn again.
Every draw is seeded: ``sample(seed)`` is the same θ on every machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..config import MARKER_NEWLINE, ConfigError, RenderConfig, load_config

PAPER = {"A4": (595, 842), "Letter": (612, 792), "Legal": (612, 1008), "A5": (420, 595), "B5": (499, 709),
         "A3": (842, 1191), "B4": (709, 1001), "Tabloid": (792, 1224)}
PAPER_WEIGHTS = {"A4": 30, "Letter": 20, "Legal": 4, "A5": 10, "B5": 6, "A3": 3, "B4": 3, "Tabloid": 2}
ASPECTS = (1.414, 1.333, 1.5, 1.778)
DPI_SETS = (  # (weight, values or a range)
    (4, range(45, 60)), (8, range(60, 72)), (30, range(72, 120)), (55, "normal"), (2, range(301, 361)))
NORMAL_DPI = {72: 12, 80: 8, 96: 10, 100: 6, 110: 4, 120: 6, 144: 2, 150: 2, 300: 1}
SIZES = (7, 7.5, 8, 9, 9.5, 10, 11, 12, 14)
LATIN_FONTS = ("DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono", "DejaVu Sans Oblique", "DejaVu Sans Mono Oblique")
LATIN_WEIGHTS = (10, 8, 3, 1, 1)
MAX_PIXELS = 12_000_000  # a page larger than this is drawn again (training pages stay trainable)


@dataclass
class Styles:
    """A style sampler: ``fonts`` adds font files (or family names) to the pool; ``cjk`` says the corpus
    holds CJK text (then every θ reads it with a CJK font)."""

    fonts: tuple[str, ...] = ()
    cjk: bool = False
    pool: list[tuple[str, float]] = field(init=False)

    def __post_init__(self) -> None:
        pool = list(zip(LATIN_FONTS, LATIN_WEIGHTS)) + [(f, 4.0) for f in self.fonts]
        self.pool = [("Noto Sans CJK", 1.0)] if self.cjk else pool

    def sample(self, seed: int | str) -> RenderConfig:
        """The θ of draw ``seed`` (a number or a string, the same θ everywhere)."""
        rng = random.Random(f"glyphpress-style/{seed}")
        for _ in range(100):
            try:
                cfg = self._draw(rng)
            except ConfigError:
                continue
            w, h = cfg.page_px
            text_w = cfg.page_size[0] - 2 * cfg.margin_x - cfg.left_indent - cfg.right_indent
            if w * h <= MAX_PIXELS and text_w >= 0.5 * cfg.page_size[0]:
                return cfg
        raise ConfigError(f"no valid style drawn for seed {seed!r} in 100 tries")  # pragma: no cover

    def _draw(self, rng: random.Random) -> RenderConfig:
        from ..search.space import INDENTS, THEMES

        size = rng.choice(SIZES)
        style = {
            "dpi": self._dpi(rng), "page-size": self._page(rng), "font-size": size,
            "line-height": size + rng.choice((0, 0.5, 1, 1.5, 2, 3)),
            "font-family": rng.choices([f for f, _ in self.pool], weights=[w for _, w in self.pool])[0],
            "alignment": rng.choices(("LEFT", "JUSTIFY", "RIGHT", "CENTER"), weights=(45, 45, 5, 5))[0],
            "horizontal-scale": round(1.0 - min(0.25, abs(rng.gauss(0, 0.1))), 2),
            "space-before": rng.choices((0, 2, 6), weights=(6, 2, 1))[0],
            "space-after": rng.choices((0, 2, 6), weights=(6, 2, 1))[0],
            "newline-markup": MARKER_NEWLINE if rng.random() < 0.1 else "<br/>",
            "auto-crop-width": rng.random() < 0.5, "auto-crop-last-page": rng.random() < 0.7,
        }
        style.update(self._margins(rng))
        style.update(rng.choices(INDENTS, weights=(12, 2, 2, 2, 1, 1))[0])
        theme = rng.choices(list(THEMES.values()), weights=(10, 3, 3, 2, 3, 2, 2, 2))[0]
        style.update(theme)
        if rng.random() < 0.1:  # paragraph borders, now and then
            style.update({"border-width": 0.5, "border-padding": 2, "para-border-color": theme["font-color"]})
        return RenderConfig.from_dict(style, base=load_config("glyph-en"))

    @staticmethod
    def _dpi(rng: random.Random) -> int:
        values = rng.choices([v for _, v in DPI_SETS], weights=[w for w, _ in DPI_SETS])[0]
        if values == "normal":
            return rng.choices(list(NORMAL_DPI), weights=list(NORMAL_DPI.values()))[0]
        return rng.choice(list(values))

    @staticmethod
    def _page(rng: random.Random) -> str:
        r = rng.random()
        if r < 0.75:
            w, h = PAPER[rng.choices(list(PAPER), weights=list(PAPER_WEIGHTS.values()))[0]]
        elif r < 0.95:  # a common aspect ratio, portrait or landscape
            w = rng.choice((480, 540, 595, 640, 720))
            h = round(w * rng.choice(ASPECTS))
            if rng.random() < 0.3:
                w, h = h, w
        else:  # fully random: narrow to tall
            w, h = rng.randint(300, 900), rng.randint(300, 1300)
        return f"{w},{h}"

    @staticmethod
    def _margins(rng: random.Random) -> dict[str, float]:
        m = rng.randint(10, 40)
        kind = rng.choices(("equal", "vertical", "horizontal"), weights=(5, 3, 2))[0]
        other = min(40, m + rng.randint(4, 16))
        return {"margin-x": m if kind != "horizontal" else other, "margin-y": m if kind != "vertical" else other}


def describe(cfg: RenderConfig) -> dict:
    """The keys a dataset card sums up about a θ."""
    return {"dpi": cfg.dpi, "page-size": f"{cfg.page_size[0]:g}x{cfg.page_size[1]:g}", "font": cfg.font_family,
            "font-size": cfg.font_size, "alignment": cfg.alignment, "theme": cfg.page_bg_color,
            "newline": "marker" if cfg.newline.color else "break", "horizontal-scale": cfg.horizontal_scale}
