"""A small TrueType font made by the tests: boxes of varied widths for ASCII, Latin-1, CJK ideographs,
kana and CJK punctuation, so that both glyphpress and ReportLab can lay out Chinese with one file."""

from __future__ import annotations

from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

UPEM = 1000
CJK = [chr(c) for c in range(0x4E00, 0x4E00 + 400)] + list("のはがをにでとも") + list("，。、：；！？（）「」『』【】")


def _box(width: int) -> object:
    pen = TTGlyphPen(None)
    if width > 120:
        pen.moveTo((40, 0))
        pen.lineTo((40, 700))
        pen.lineTo((width - 40, 700))
        pen.lineTo((width - 40, 0))
        pen.closePath()
    return pen.glyph()


def build(path: Path) -> Path:
    chars = [chr(c) for c in range(0x20, 0x7F)] + [chr(c) for c in range(0xA0, 0x100)] + CJK
    names = [".notdef"] + [f"u{ord(c):04X}" for c in chars]
    widths = {".notdef": 500}
    for c, n in zip(chars, names[1:]):
        cp = ord(c)
        if c in (" ", "\xa0"):
            widths[n] = 260
        elif cp >= 0x3000:
            widths[n] = 1000
        else:
            widths[n] = 300 + (cp * 37) % 400  # varied Latin widths
    fb = FontBuilder(UPEM, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({ord(c): n for c, n in zip(chars, names[1:])})
    fb.setupGlyf({n: _box(widths[n]) for n in names})
    fb.setupHorizontalMetrics({n: (widths[n], 40) for n in names})
    fb.setupHorizontalHeader(ascent=880, descent=-120)
    fb.setupNameTable({"familyName": "GlyphpressTest", "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    fb.setupPost()
    fb.save(str(path))
    return path
