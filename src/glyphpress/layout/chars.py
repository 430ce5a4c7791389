"""Character classes that line breaking and drawing need, as bit flags per code point."""

from __future__ import annotations

import unicodedata

import numpy as np

BREAK_SPACE = 1  # a space after which a line may break; it hangs at a line end
INVISIBLE = 2  # no advance, no ink (controls, format characters, soft hyphen, ZWSP, ...)
CJK = 4  # a line may break before and after it
NO_START = 8  # may not begin a line (closing punctuation, small kana, ...)
NO_END = 16  # may not end a line (opening brackets)
MARK = 32  # combining mark: never separated from its base
COMPLEX = 64  # needs shaping (Arabic, Hebrew, Indic, ...): drawn by the shaping path
HYPHEN = 128  # a line may break after it, inside a word

_BREAK_SPACES = {0x20, 0x09, 0x1680, 0x205F, 0x3000, *range(0x2000, 0x2007), *range(0x2008, 0x200B)}
_ZERO_WIDTH_BREAKS = {0x200B}
_NO_START = set("、。，．：；？！）」』】〕〉》｝］〙〗〟’”ゝゞヽヾーァィゥェォッャュョヮヵヶぁぃぅぇぉっゃゅょゎゕゖ"
                "・…‥｡｣､･ﾞﾟ%)]},.:;?!")
_NO_END = set("（「『【〔〈《｛［〘〖〝‘“([{")
_HYPHENS = {0x2D, 0x2010, 0x2013}
_CJK_RANGES = ((0x1100, 0x11FF), (0x2E80, 0x9FFF), (0xA960, 0xA97F), (0xAC00, 0xD7FF),
               (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF), (0x20000, 0x3FFFF))
_COMPLEX_RANGES = ((0x0590, 0x08FF), (0x0900, 0x0DFF), (0x0E00, 0x0EFF), (0x0F00, 0x0FFF),
                   (0x1000, 0x109F), (0x1780, 0x17FF), (0xFB1D, 0xFDFF), (0xFE70, 0xFEFF))


def _in(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= cp <= hi for lo, hi in ranges)


def classify(cp: int) -> int:
    flags = 0
    ch = chr(cp)
    cat = unicodedata.category(ch)
    if cp in _BREAK_SPACES:
        flags |= BREAK_SPACE
    if cp in _ZERO_WIDTH_BREAKS:
        flags |= BREAK_SPACE | INVISIBLE
    if (cat in ("Cc", "Cf", "Cs", "Zl", "Zp") and cp not in (0x09, 0x0A)) or 0xFE00 <= cp <= 0xFE0F \
            or 0xE0100 <= cp <= 0xE01EF:
        flags |= INVISIBLE
    if _in(cp, _CJK_RANGES) or cp == 0xFFFC:  # objects break like ideographs
        flags |= CJK
    if ch in _NO_START:
        flags |= NO_START
    if ch in _NO_END:
        flags |= NO_END
    if cat in ("Mn", "Me", "Mc"):
        flags |= MARK
    if _in(cp, _COMPLEX_RANGES):
        flags |= COMPLEX
    if cp in _HYPHENS:
        flags |= HYPHEN
    return flags


class CharTable:
    """Flags for every code point seen so far, filled on demand."""

    def __init__(self) -> None:
        self.flags = np.zeros(0x110000, dtype=np.uint8)
        self.known = np.zeros(0x110000, dtype=bool)

    def lookup(self, cps: np.ndarray) -> np.ndarray:
        todo = np.unique(cps[~self.known[cps]])
        for cp in todo.tolist():
            self.flags[cp] = classify(cp)
            self.known[cp] = True
        return self.flags[cps]
