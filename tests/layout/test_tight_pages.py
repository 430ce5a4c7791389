"""Pages of the tight layout stay byte-identical across engine changes.

The hashes in ``golden/tight_pages.json`` were taken from the renderer before its layout engine was
split into resources and per-document state (and before the published-renderer layout was added);
each case renders a text made here under one θ and compares every page's pixels.
Regenerate (only when a change of pixels is intended) with ``GLYPHPRESS_UPDATE_GOLDEN=1``.
"""

import hashlib
import json
import os
import random
from pathlib import Path

import pytest

from glyphpress import document, load_config, render

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "tight_pages.json"
TIGHT = ["layout=tight"]


def mixed_text(seed: int = 7, paragraphs: int = 160) -> str:
    rng = random.Random(seed)
    words = ("the quick brown fox jumps over a lazy dog while compression ratios rise and pages fill "
             "well-known state-of-the-art re-rendering 3.14159 (parenthesised) [bracketed] {braced} "
             "naïve café Ελληνικά кириллица 中文字符 日本語の文章 한국어 → ≈ ± € © ‘quoted’ “double” — dash "
             "supercalifragilisticexpialidocious antidisestablishmentarianism").split()
    out = []
    for _ in range(paragraphs):
        n = rng.choice([0, 1, 3, 8, 20, 45, 90])
        line = " ".join(rng.choice(words) for _ in range(n))
        if rng.random() < 0.1:
            line = "    " + line  # indentation
        if rng.random() < 0.05:
            line += "\t" + "x" * rng.randint(80, 200)  # a long unbreakable word
        if rng.random() < 0.05:
            line = "مرحبا بالعالم " + line  # shaped script
        out.append(line)
    return "\n".join(out)


CASES = {
    "glyph-en": ("glyph-en", []),
    "marker": ("glyph-en", ["newline-markup=marker"]),
    "justify": ("glyph-en", ["alignment=JUSTIFY"]),
    "right": ("glyph-en", ["alignment=RIGHT"]),
    "centre-spaced": ("glyph-en", ["alignment=CENTER", "letter-spacing=0.5"]),
    "two-columns": ("glyph-en", ["columns=2", "column-gap=12"]),
    "colours": ("glyph-en", ["font-color=#203040", "page-bg-color=#F5F0E0", "para-bg-color=#FFFFFF"]),
    "indents-spacing": ("glyph-en", ["first-line-indent=12", "left-indent=6", "right-indent=8",
                                     "space-before=2", "space-after=3"]),
    "border": ("glyph-en", ["border-width=1", "border-padding=2", "para-border-color=#000000"]),
    "hscale-nocrop": ("glyph-en", ["horizontal-scale=0.8", "auto-crop-width=false",
                                   "auto-crop-last-page=false"]),
    "glyph-zh": ("glyph-zh", []),
    "code": ("code", []),
    "dense": ("dense", []),
    "readable": ("readable", []),
}

MARKDOWN = """# Title of the document

Some *emphasis*, **strong text**, `inline code` and a [link](http://example.com).

- a list item
  - nested item with more words to wrap around the measure of the column
1. numbered

> a quote

```python
def f(x):
    return {"key": [x, 2.5, None]}  # comment
```

| a | b |
|:--|--:|
| one | 2 |
"""


def page_hashes(pages) -> list[str]:
    out = []
    for p in pages:
        img = p.image
        h = hashlib.sha256(f"{img.mode}{img.size}".encode() + img.tobytes()).hexdigest()[:16]
        out.append(h)
    return out


def current() -> dict[str, list[str]]:
    text = mixed_text()
    got = {}
    for name, (preset, sets) in CASES.items():
        cfg = load_config(preset, sets + TIGHT)
        got[name] = page_hashes(render(text, cfg, count_text=False).pages)
    cfg = load_config("glyph-en", TIGHT)
    doc = document.load_bytes((MARKDOWN * 40).encode(), "doc.md")
    got["markdown"] = page_hashes(render(doc, cfg, count_text=False).pages)
    return got


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[str]]:
    return current()


@pytest.mark.parametrize("case", [*CASES, "markdown"])
def test_pages_identical(case, rendered):
    if os.environ.get("GLYPHPRESS_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(rendered, indent=1) + "\n")
    want = json.loads(GOLDEN.read_text())[case]
    assert rendered[case] == want
