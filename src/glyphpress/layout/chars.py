"""Character classes that line breaking and drawing need, as bit flags per code point."""

from __future__ import annotations

import unicodedata

import numpy as np

from .slots import CodepointSlots

BREAK_SPACE = 1  # a space after which a line may break; it hangs at a line end
INVISIBLE = 2  # no advance, no ink (controls, format characters, soft hyphen, ZWSP, ...)
CJK = 4  # a line may break before and after it
NO_START = 8  # may not begin a line (closing punctuation, small kana, ...)
NO_END = 16  # may not end a line (opening brackets)
MARK = 32  # combining mark: never separated from its base
COMPLEX = 64  # needs shaping (Arabic, Hebrew, Indic, ...): drawn by the shaping path
HYPHEN = 128  # a line may break after it, inside a word
# the published renderer's classes (ReportLab): its word separators (every Unicode space but the
# no-break space), the characters its CJK wrapping never starts a line with, and spaces (Zs)
RL_SPACE = 256
RL_NO_START = 512
ZS = 1024

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
# ReportLab's kinsoku list (reportlab.lib.textsplit.ALL_CANNOT_START), as code points
_RL_NO_START = set("!',.:;?!\")]\u3001\u3002\u300d\u300f\u3011\u3015\uff3d\u3011\uff09"
                   "\u3005\u2015\u3041\u3043\u3045\u3047\u3049\u3063\u3083\u3085\u3087\u308e\u30a1\u30a3"
                   "\u30a5\u30a7\u30a9\u30c3\u30e3\u30e5\u30e7\u30ee\u30fc\u30f5\u30f6"
                   "\u309b\u309c\u30fb\u30fd\u30fe\u309d\u309e\u2015\u2010\xb0\u2032\u2033\u2103\uffe0\uff05\u2030")


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
    if ch.isspace() and cp != 0xA0:
        flags |= RL_SPACE
    if ch in _RL_NO_START:
        flags |= RL_NO_START
    if cat == "Zs":
        flags |= ZS
    return flags


class CharClasses:
    """Flags for every code point met so far, filled on demand."""

    def __init__(self, slots: CodepointSlots) -> None:
        self.slots = slots
        self.flags = slots.table(np.uint16, 0)
        self.known = slots.table(bool, False)

    def lookup(self, slot: np.ndarray, cps: np.ndarray) -> np.ndarray:
        """Flags of the code points ``cps`` whose slots are ``slot``."""
        new = ~self.known.values[slot]
        if new.any():
            for cp in np.unique(cps[new]).tolist():
                s = self.slots.slot(cp)
                self.flags.values[s] = classify(cp)
                self.known.values[s] = True
        return self.flags.values[slot]
