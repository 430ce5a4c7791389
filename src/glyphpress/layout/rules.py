"""How characters behave in a layout: a piece of text becomes arrays that line breaking works on.

Two sets of rules:

- ``TightRules``: glyphpress's own dense layout. Every character is a position; spaces are kept and
  hang at line ends; a line may break after spaces and hyphens and between CJK characters; every
  source line is a paragraph, unless newlines show as a marker: then the text is one paragraph with
  the marker inline.
- ``PublishedRules``: the published Glyph renderer (ReportLab platypus): soft hyphens and zero-width
  spaces removed; runs of two or more spaces kept as non-breaking spaces; other white space
  collapses to one space between words, and is dropped at the start of a line after a break; words
  are measured with ReportLab's widths and a line may take a word while its spaces shrink by 5%;
  lines break only between words (or, when the text holds a CJK ideograph, between any characters,
  ReportLab's CJK wrapping); source lines are joined 30 at a time into one paragraph with the
  newline markup (a line break, or a marker drawn inline between spaces).

Both produce a ``Chunk``: per display character its code point, flags, widths and glyph id, and the
segments (runs that break into lines independently) with the paragraph each belongs to. A display
character maps back to a source character through ``src``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import RenderConfig
from .chars import BREAK_SPACE, CJK, HYPHEN, INVISIBLE, MARK, NO_END, NO_START, RL_SPACE, CharClasses
from .flow import Flow
from .glyphs import MARKER_GID, GlyphRegistry

NEWLINE = 10
GROUP_LINES = 30  # source lines per paragraph in the published renderer
_CJK_IDEOGRAPH = (0x4E00, 0x9FFF)  # the published renderer wraps per character when the text has one
SHRINK = 0.05  # ReportLab's spaceShrinkage: a space may shrink this much to fit one more word


def codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)


@dataclass
class Chunk:
    """A piece of text ``[lo, lo + len(source))`` of the source, as display characters."""

    lo: int
    cps: np.ndarray  # display code points
    src: np.ndarray | None  # display index -> source index (local); None: the same
    flags: np.ndarray
    fit: np.ndarray  # advance used to decide what fits on a line
    measure: np.ndarray  # advance used for alignment (the line's natural width)
    draw: np.ndarray  # advance in pixels, for glyph positions
    gid: np.ndarray  # glyph id per display character, -1 where nothing is drawn
    blank: np.ndarray  # hangs at a line end (not part of the visible text)
    opp: np.ndarray  # opp[p]: a line may end before display position p (0 < p < n)
    stretch: np.ndarray  # takes justification space
    seg_start: np.ndarray  # segments: display ranges broken into lines independently
    seg_end: np.ndarray  # where a segment's text ends (before the newline that ends it)
    seg_next: np.ndarray  # where the segment after it starts
    seg_para: np.ndarray  # paragraph of each segment, counted from the chunk's first
    seg_first: np.ndarray  # the segment starts its paragraph
    seg_last: np.ndarray  # the segment ends its paragraph
    seg_drop: np.ndarray  # the segment makes no line
    source_len: int  # source characters in the chunk
    units: float  # pixels per unit of ``fit`` and ``measure``
    missing: np.ndarray | None = None  # drawn characters no font has
    marker: np.ndarray | None = None  # the newline marker's characters (drawn from the atlas, never shaped)
    per_char: bool = False  # lines break between any characters (ReportLab's CJK wrapping)
    src_ends: np.ndarray | None = None  # source end per display end position, where not src + 1

    def __len__(self) -> int:
        return len(self.cps)

    def starts_to_source(self, p: np.ndarray) -> np.ndarray:
        """Display positions (0..n) as local source positions: where the text from there starts."""
        if self.src is None:
            return p
        return np.r_[self.src, self.source_len][p]

    def ends_to_source(self, p: np.ndarray) -> np.ndarray:
        """Display end positions as local source end positions (after the character before them)."""
        if self.src_ends is not None:
            return self.src_ends[p]
        if self.src is None:
            return p
        return np.r_[0, self.src + 1][p]


@dataclass
class ChunkState:
    """Where a document's layout stands between chunks."""

    pos: int = 0  # next source index to lay out
    first: bool = True  # the next line starts a paragraph
    line_start: bool = True  # the next line starts a source line (not a wrapped line's continuation)
    para: int = 0  # number of the next paragraph
    line_no: int = 0  # source newlines before ``pos``


@dataclass
class Cut:
    hi: int  # the chunk is [pos, hi)
    complete: bool  # its lines are final: it ends at a forced line end or at the end of the text
    para_end: bool  # it ends where a paragraph ends


class TightRules:
    """glyphpress's own dense layout (see the module docstring)."""

    def __init__(self, cfg: RenderConfig, chars: CharClasses, glyphs: GlyphRegistry, marker_width: float):
        self.cfg, self.chars, self.glyphs = cfg, chars, glyphs
        self.breaks_at_newline = cfg.newline.text is None
        self.marker_width = marker_width

    def cut(self, text: str, state: ChunkState, chunk: int) -> Cut:
        pos, n = state.pos, len(text)
        hi = min(n, pos + chunk)
        if hi < n and self.breaks_at_newline:
            cut = text.rfind("\n", pos + chunk // 2, hi)
            if cut != -1:
                hi = cut + 1
        closed = hi == n or (self.breaks_at_newline and text[hi - 1] == "\n")
        return Cut(hi, closed, closed)

    def chunk(self, flow: Flow, style_spaces, state: ChunkState, cut: Cut) -> Chunk:
        text, lo, hi = flow.text, state.pos, cut.hi
        cps = codepoints(text[lo:hi])
        n = len(cps)
        slot = self.glyphs.slots.of(cps)
        flags = self.chars.lookup(slot, cps)
        nl = cps == NEWLINE
        drawn = ((flags & (INVISIBLE | BREAK_SPACE)) == 0) & ~nl
        c, g = self.cfg, self.glyphs
        sty = None if flow.styles is None else flow.styles[lo:hi]
        chain0 = g.chains[0]
        tab_w = chain0.face(0).advance_px(32) * c.tab_size
        if sty is None:
            chain0.prepare(slot, cps)
            adv = chain0.advance.values[slot]
            gid = np.where(drawn, g.gids(0, slot, cps), -1).astype(np.int32, copy=False)
            tab = np.full(n, tab_w)
            missing = drawn & chain0.missing.values[slot]
        else:
            gid = np.full(n, -1, dtype=np.int32)
            adv = np.empty(n)
            tab = np.empty(n)
            missing = np.empty(n, dtype=bool)
            order = np.argsort(sty, kind="stable")  # each style's characters together: one slice a style
            by_style = sty[order]
            cuts = np.flatnonzero(by_style[1:] != by_style[:-1]) + 1
            tabs_of: dict[int, float] = {}  # chain -> its tab width
            for a, b in zip(np.r_[0, cuts].tolist(), np.r_[cuts, n].tolist()):
                st, at = int(by_style[a]), order[a:b]
                s, p = slot[at], cps[at]
                k = int(style_spaces.chain[st])
                chain = g.chains[k]
                chain.prepare(s, p)
                adv[at] = chain.advance.values[s]
                missing[at] = chain.missing.values[s]
                if k not in tabs_of:
                    tabs_of[k] = chain.face(0).advance_px(32) * c.tab_size
                tab[at] = tabs_of[k]
                ink = drawn[at]
                gid[at[ink]] = g.gids(int(style_spaces.space[st]), s[ink], p[ink])
        adv[(flags & INVISIBLE) != 0] = 0.0
        if c.letter_spacing:
            adv = adv + np.where((flags & INVISIBLE) == 0, c.px(c.letter_spacing), 0.0)
        tabs = cps == 9
        adv[tabs] = tab[tabs]
        adv[nl] = self.marker_width
        gid[nl] = MARKER_GID
        missing &= drawn

        blank = (flags & BREAK_SPACE) != 0  # hangs at a line end, no ink
        brk = blank if self.breaks_at_newline else blank | nl  # a line may break after it
        opp = np.zeros(n + 1, dtype=bool)
        if n > 1:
            prev, cur = flags[:-1], flags[1:]
            starts_word = ~blank[1:]
            o = brk[:-1] & starts_word
            o |= ((prev | cur) & CJK != 0) & starts_word & (cur & NO_START == 0) & (prev & NO_END == 0)
            o |= (prev & HYPHEN != 0) & starts_word & (cur & HYPHEN == 0) & np.r_[False, ~blank[:-2]]
            o &= cur & MARK == 0
            opp[1:n] = o

        if self.breaks_at_newline:  # every source line is a paragraph
            nls = np.flatnonzero(nl)
            start = np.r_[0, nls + 1]
            end = np.r_[nls, n]
            if start[-1] == n and len(nls):  # ends with a newline: no empty paragraph after it
                start, end = start[:-1], end[:-1]
            nxt = np.where(end < n, end + 1, n)
        else:  # the whole text is one paragraph
            start, end = np.array([0]), np.array([n])
            nxt = end
        k = len(start)
        first = np.ones(k, dtype=bool)
        first[0] = state.first
        last = np.ones(k, dtype=bool)
        last[-1] = cut.para_end
        return Chunk(lo, cps, None, flags, adv, adv, adv, gid, blank, opp, cps == 32,
                     start, end, nxt, np.arange(k), first, last, np.zeros(k, dtype=bool), n, units=1.0,
                     missing=missing)


class PublishedRules:
    """The published Glyph renderer's rules (see the module docstring)."""

    def __init__(self, cfg: RenderConfig, chars: CharClasses, glyphs: GlyphRegistry, per_char: bool):
        self.cfg, self.chars, self.glyphs = cfg, chars, glyphs
        self.per_char = per_char
        chain0 = glyphs.chains[0]
        space = chain0.prepare_cps(np.array([32]))  # before reading a table: it may grow the tables
        self.space_pt = float(chain0.published.values[space[0]])
        # the newline markup's text, drawn between source lines in its colour (its spaces are spaces)
        self.marker = None if cfg.newline.text is None else codepoints(cfg.newline.text)
        self.marker_space = glyphs.space(0, cfg.newline.color)  # made with the engine: the same in every process

    @staticmethod
    def wraps_per_char(text: str) -> bool:
        """The published renderer wraps per character (ReportLab's CJK wrapping) when the text holds
        any CJK ideograph (U+4E00-U+9FFF)."""
        import re

        return re.search("[\u4e00-\u9fff]", text) is not None

    def cut(self, text: str, state: ChunkState, chunk: int) -> Cut:
        """A chunk ends at a paragraph's end (after every 30th source line) where one is in reach; else
        after a source line (lines end there anyway, unless newlines show as markers); else anywhere."""
        pos, n = state.pos, len(text)
        hi = min(n, pos + chunk)
        if hi == n:
            return Cut(n, True, True)
        floor = pos + chunk // 2
        last = text.rfind("\n", floor, hi)
        if last == -1:
            return Cut(hi, False, False)
        line = state.line_no + text.count("\n", pos, last)  # the source line this newline ends
        q = last
        for _ in range((line + 1) % GROUP_LINES):  # step back to the newline ending a paragraph
            q = text.rfind("\n", floor, q)
            if q == -1:
                break
        if q != -1:
            return Cut(q + 1, True, True)
        return Cut(last + 1, True, False) if self.marker is None else Cut(hi, False, False)

    def chunk(self, flow: Flow, style_spaces, state: ChunkState, cut: Cut) -> Chunk:
        c, g = self.cfg, self.glyphs
        lo = state.pos
        scps = codepoints(flow.text[lo:cut.hi])
        ns = len(scps)
        keep = (scps != 0xAD) & (scps != 0x200B)  # removed before anything else
        nl_src = scps == NEWLINE
        line_src = state.line_no + np.cumsum(nl_src) - nl_src  # source line of each character
        ends_para = nl_src & ((line_src + 1) % GROUP_LINES == 0)
        instance = None  # per display character: the newline whose marker it belongs to, -1 for text
        if self.marker is not None:  # a newline inside a paragraph shows as the markup's text
            inner = nl_src & ~ends_para
            m = len(self.marker)
            counts = np.where(inner, m, 1) * keep
            src = np.repeat(np.arange(ns), counts)
            cps = scps[src]
            virtual = inner[src]
            cps[virtual] = np.tile(self.marker, int(inner[keep].sum()))
            instance = np.where(virtual, src, -1)
            brk = ends_para[src]  # paragraphs end at their 30th newline
        else:
            virtual = np.zeros(int(keep.sum()), dtype=bool)
            src = np.flatnonzero(keep) if not keep.all() else None
            cps = scps if src is None else scps[src]
            brk = cps == NEWLINE  # every newline is a line break
        n = len(cps)
        line_of = line_src if src is None else line_src[src]
        slot = g.slots.of(cps)
        flags = self.chars.lookup(slot, cps)
        chain0 = g.chains[0]
        chain0.prepare(slot, cps)
        width = chain0.published.values[slot].copy()  # points
        width[brk] = 0.0

        # separators: white space between words (every space but no-break ones); runs of two or more
        # U+0020 of the source are no-break spaces, part of their word
        sep = ((flags & RL_SPACE) != 0) & ~brk
        source_space = (cps == 32) & ~virtual
        glued = source_space & (np.r_[False, source_space[:-1]] | np.r_[source_space[1:], False])
        sep &= ~glued
        # a run of separators is one space wide; wrapping per character, ReportLab collapses white space in
        # the markup's string, where tags keep the text's and each marker's white space apart
        joins = sep & np.r_[False, sep[:-1]]
        if self.per_char and instance is not None:
            joins &= instance == np.r_[-2, instance[:-1]]
        run_first = sep & ~joins

        # segments: broken into lines independently (source lines, or with markers whole paragraphs)
        b = np.flatnonzero(brk)
        seg_start, seg_end = np.r_[0, b + 1], np.r_[b, n]
        if len(b) and seg_start[-1] == n:  # ends with a break: the next chunk starts the next segment
            seg_start, seg_end = seg_start[:-1], seg_end[:-1]
        seg_next = np.where(seg_end < n, seg_end + 1, n)
        k = len(seg_start)
        ended = seg_end < n  # a break ends it (else the chunk does)
        seg_line = line_of[np.minimum(seg_start, n - 1)] if n else np.full(k, state.line_no)
        seg_line[0] = state.line_no
        if self.marker is not None:
            seg_first = np.r_[state.line_start and state.line_no % GROUP_LINES == 0, np.ones(k - 1, bool)]
            seg_last = np.r_[np.ones(k - 1, bool), cut.para_end]
        else:
            at_start = np.r_[state.line_start, np.ones(k - 1, bool)]
            seg_first = at_start & (seg_line % GROUP_LINES == 0)
            seg_last = np.where(ended, seg_line % GROUP_LINES == GROUP_LINES - 1, cut.para_end)
        para = np.cumsum(seg_first) - seg_first[0]  # paragraph of each segment, from the chunk's first

        # white space is dropped where a paragraph starts and (breaking between words) after a line
        # break; wrapping per character, only the paragraph's markup string is stripped, at both ends: its
        # source white space, not a marker's
        seg_of = np.repeat(np.arange(k), seg_next - seg_start)
        if self.per_char:
            strip = sep & ~virtual
            stops = np.r_[0, np.cumsum(~strip)]  # characters that end a stripped run
            before = stops[:n] - stops[seg_start[seg_of]]
            after = stops[seg_end[seg_of]] - stops[1:]
            inside = np.arange(n) < seg_end[seg_of]
            stripped = strip & (((before == 0) & seg_first[seg_of]) | ((after == 0) & seg_last[seg_of] & inside))
        else:
            words = np.r_[0, np.cumsum(~sep)]
            before = words[:n] - words[seg_start[seg_of]]  # words before each character in its segment
            stripped = sep & (before == 0) & np.r_[state.line_start, np.ones(k - 1, bool)][seg_of]
        width[sep & ~run_first] = 0.0
        width[run_first] = self.space_pt
        width[stripped] = 0.0

        # an empty source line (white space only) ending a paragraph makes no line
        nonsep = np.r_[0, np.cumsum(~sep)]
        seg_blank = (nonsep[seg_end] - nonsep[seg_start]) == 0
        seg_drop = seg_blank & seg_last

        spaces = run_first & ~stripped
        # what takes PDF word spacing: the spaces drawn between words and the no-break spaces (ReportLab
        # writes both as byte 32)
        stretch = spaces | ((cps == 32) | (cps == 0xA0)) & ~sep
        measure = width
        fit = width.copy()
        if not self.per_char:
            fit[spaces] *= 1.0 - SHRINK
        if c.letter_spacing:
            extra = np.where(sep | brk, 0.0, c.letter_spacing)
            fit, measure = fit + extra, measure + extra
        scale = c.dpi / 72.0
        draw = measure * scale
        drawn = ~sep & ~brk & ~glued  # every character kept: a control character is a .notdef box, as ReportLab
        # draws it, and a format character the font's glyph for it
        gid = np.where(drawn, g.gids(0, slot, cps), -1).astype(np.int32, copy=False)
        ink = drawn & virtual
        if ink.any():  # the marker's characters, in its colour
            gid[ink] = g.gids(self.marker_space, slot[ink], cps[ink])

        opp = np.zeros(n + 1, dtype=bool)
        if n > 1 and not self.per_char:
            opp[1:n] = sep[:-1] & ~sep[1:]
        return Chunk(lo, cps, src, flags, fit, measure, draw, gid, sep | brk, opp, stretch,
                     seg_start, seg_end, seg_next, para, seg_first, seg_last, seg_drop, ns, units=scale,
                     missing=drawn & chain0.missing.values[slot], marker=virtual, per_char=self.per_char)
