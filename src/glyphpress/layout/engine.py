"""Layout: text -> lines -> pages of positioned glyphs, as pure geometry (no pixels).

The engine works on arrays, not on characters one by one: a chunk of text becomes an array of
code points, advances come from a dense table, break opportunities are a boolean mask, and the
greedy line breaker jumps from line to line with binary searches.  Long texts stream through in
chunks of about a million characters, so memory stays flat whatever the input length.

Every line and page keeps the source character range it shows: page ranges partition the text.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..config import RenderConfig
from .chars import BREAK_SPACE, CJK, COMPLEX, HYPHEN, INVISIBLE, MARK, NO_END, NO_START, CharTable
from .flow import ALIGN_CODES, ALIGN_THETA, CONTINUATION_MARK, Flow, Style
from .fonts import FontChain, font_chain

CHUNK_CHARS = 1 << 18
FIRST_CHUNK_CHARS = 1 << 14
MIN_SIDE = 32  # no page side below this (VLM image processors reject tinier images)
NEWLINE = 10
MARKER_GID = 0  # glyph id of the visible newline marker
_CODESPACE = 0x110000
_EPS = 1e-6


def codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)


def ragged_arange(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + n)`` for each (s, n), without a Python loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    keep = lengths > 0
    starts, lengths = np.asarray(starts, dtype=np.int64)[keep], lengths[keep]
    steps = np.ones(total, dtype=np.int64)
    offsets = np.cumsum(lengths)[:-1]
    steps[0] = starts[0]
    steps[offsets] = starts[1:] - (starts[:-1] + lengths[:-1] - 1)
    return np.cumsum(steps)


@dataclass
class LineBlock:
    """Lines laid out from one chunk, with their glyphs in CSR form (``gptr`` per line)."""

    start: np.ndarray  # first source index (global)
    vend: np.ndarray  # end of visible text, trailing spaces excluded
    nxt: np.ndarray  # where the next line starts
    para_first: np.ndarray
    para_last: np.ndarray
    para_id: np.ndarray
    x0: np.ndarray  # px from the column's left edge to the line's text
    width: np.ndarray  # px, as drawn (justified lines fill their measure)
    height: np.ndarray  # px, baseline to baseline
    base: np.ndarray  # px from the line's top to its baseline
    descent: np.ndarray  # px below the baseline
    gptr: np.ndarray
    gx: np.ndarray  # px from the column's left edge
    gid: np.ndarray
    shaped: dict[int, str] = field(default_factory=dict)  # line -> text for the shaping path
    objects: list[tuple[int, float, int]] = field(default_factory=list)  # (line, x, display index)

    def __len__(self) -> int:
        return len(self.start)


@dataclass
class PageLayout:
    """One page as geometry. Coordinates are pixels before horizontal scale and cropping."""

    index: int
    source_range: tuple[int, int]
    size: tuple[int, int]
    line_start: np.ndarray  # source index where each line starts
    line_end: np.ndarray  # source index where each line's visible text ends
    line_base: np.ndarray  # baseline y of each line
    line_left: np.ndarray  # x of each line's column
    line_right: np.ndarray  # x where each line's text ends
    gx: np.ndarray  # absolute x of each glyph's pen position
    gid: np.ndarray
    gline: np.ndarray  # line index (within the page) of each glyph
    shaped: list[tuple[float, int, str]]  # (x, baseline, text) drawn by the shaping path
    boxes: list[tuple[float, float, float, float]]  # paragraph boxes (x0, y0, x1, y1)
    bottom: float  # lowest text pixel row (for cropping the last page)
    last: bool = False
    objects: list[tuple[float, int, int]] = field(default_factory=list)  # (x, baseline, display index)


class LayoutEngine:
    """Turns text into pages for one θ. Reusable across texts; not thread-safe."""

    def __init__(self, cfg: RenderConfig):
        self.cfg = cfg
        primary = cfg.font_path or cfg.font_family or "sans"
        self.fonts = FontChain(font_chain(primary, cfg.fallback_fonts), cfg.px(cfg.font_size))
        self.chars = CharTable()
        self.newline = cfg.newline
        self.marker_width = 0.0
        if self.newline.text is not None:
            self.marker_width = self.fonts.face(0).pil.getlength(self.newline.text) + cfg.px(cfg.letter_spacing)
        # glyph ids: one space per (font chain, colour); gid 0 is the newline marker
        self.chains: list[FontChain] = [self.fonts]
        self._chain_index: dict[tuple[str | None, float], int] = {(None, 1.0): 0}
        self.palette: list[str] = [cfg.font_color]
        marker_colour = 0
        if self.newline.color:
            self.palette.append(self.newline.color)
            marker_colour = 1
        self.gid_of = np.full(_CODESPACE, -1, dtype=np.int32)
        self._fs_index: dict[tuple[int, int], int] = {(0, 0): 0}
        self._fs_gid = [self.gid_of]
        self._fs = [(0, 0)]
        self.cp_of_gid: list[int] = [-1]
        self.chain_of_gid: list[int] = [0]
        self.colour_of_gid: list[int] = [marker_colour]
        self.key_of_gid: list[int] = [-1]  # font space x 0x110000 + code point; -1: the marker
        self._gid_arrays: dict[str, np.ndarray] = {}
        p = cfg.px
        self.page_w, self.page_h = cfg.page_px
        self.pad = p(cfg.border_width + cfg.border_padding)
        self.margin_x, self.margin_y = p(cfg.margin_x), p(cfg.margin_y)
        content_w = self.page_w - 2 * self.margin_x
        self.col_w = (content_w - (cfg.columns - 1) * p(cfg.column_gap)) / cfg.columns
        self.col_h = self.page_h - 2 * self.margin_y
        self.line_h = p(cfg.line_height)
        self.ascent, self.descent = _metrics(self.fonts)
        self.mark_fs = self._fs_of(0, "#8C8C8C")
        # centre the font's ascent+descent box in the line box
        self.baseline_offset = (self.line_h - (self.ascent + self.descent)) / 2 + self.ascent
        self._bind(Flow(""))

    # ---- styles ----------------------------------------------------------------------------
    def _chain(self, style: Style) -> int:
        key = (style.font, float(style.scale))
        if key not in self._chain_index:
            c = self.cfg
            primary = style.font or c.font_path or c.font_family or "sans"
            self.chains.append(FontChain(font_chain(primary, c.fallback_fonts), c.px(c.font_size * style.scale)))
            self._chain_index[key] = len(self.chains) - 1
        return self._chain_index[key]

    def _fs_of(self, chain: int, colour: str | None) -> int:
        if colour is None:
            ci = 0
        else:
            if colour not in self.palette:
                self.palette.append(colour)
            ci = self.palette.index(colour)
        key = (chain, ci)
        if key not in self._fs_index:
            self._fs_index[key] = len(self._fs)
            self._fs.append(key)
            self._fs_gid.append(np.full(_CODESPACE, -1, dtype=np.int32))
        return self._fs_index[key]

    def _bind(self, flow: Flow) -> None:
        """Per-style tables for this flow: glyph-id space, line height, ascent, descent, tab width."""
        self.flow = flow
        n = len(flow.style_table)
        self.style_fs = np.zeros(n, dtype=np.int64)
        self.style_lh = np.zeros(n)
        self.style_asc = np.zeros(n)
        self.style_desc = np.zeros(n)
        self.style_chain = np.zeros(n, dtype=np.int64)
        for i, st in enumerate(flow.style_table):
            ch = self._chain(st)
            self.style_chain[i] = ch
            self.style_fs[i] = self._fs_of(ch, st.color)
            self.style_lh[i] = self.line_h * st.scale
            self.style_asc[i], self.style_desc[i] = _metrics(self.chains[ch])
        keys = sorted(flow.objects)
        self.obj_pos = np.array(keys, dtype=np.int64)
        self.obj_w = np.array([flow.objects[k].image.width for k in keys], dtype=np.float64)
        self.obj_up = np.array([flow.objects[k].image.height - flow.objects[k].depth for k in keys], dtype=np.float64)
        self.obj_down = np.array([flow.objects[k].depth for k in keys], dtype=np.float64)

    # ---- per-character tables --------------------------------------------------------------
    def _tables(self, cps: np.ndarray, sty: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flags, advances and glyph ids of a chunk's characters."""
        flags = self.chars.lookup(cps)
        nl = cps == NEWLINE
        drawn = ((flags & (INVISIBLE | BREAK_SPACE)) == 0) & ~nl
        tab_w = self.fonts.face(0).advance_px(32) * self.cfg.tab_size
        if sty is None:
            self.fonts.prepare(cps)
            adv = self.fonts.advance[cps]
            g = self.gid_of[cps]
            if (drawn & (g < 0)).any():  # characters this engine has not met yet
                self._assign_gids(0, cps[drawn])
                g = self.gid_of[cps]
            gid = np.where(drawn, g, -1).astype(np.int32, copy=False)
            tab = np.full(len(cps), tab_w)
        else:
            gid = np.full(len(cps), -1, dtype=np.int32)
            adv = np.empty(len(cps))
            tab = np.empty(len(cps))
            for st in np.unique(sty).tolist():
                m = sty == st
                chain = self.chains[int(self.style_chain[st])]
                chain.prepare(cps[m])
                adv[m] = chain.advance[cps[m]]
                tab[m] = chain.face(0).advance_px(32) * self.cfg.tab_size
                fs = int(self.style_fs[st])
                md = m & drawn
                self._assign_gids(fs, cps[md])
                gid[md] = self._fs_gid[fs][cps[md]]
        adv[(flags & INVISIBLE) != 0] = 0.0
        if self.cfg.letter_spacing:
            adv = adv + np.where((flags & INVISIBLE) == 0, self.cfg.px(self.cfg.letter_spacing), 0.0)
        tabs = cps == 9
        adv[tabs] = tab[tabs]
        adv[nl] = self.marker_width
        gid[nl] = MARKER_GID
        return flags, adv, gid

    def _objects_in(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """(local positions, indices into the object arrays) of the objects in ``[lo, hi)``."""
        a, b = np.searchsorted(self.obj_pos, [lo, hi])
        return self.obj_pos[a:b] - lo, np.arange(a, b)

    def _assign_gids(self, fs: int, cps: np.ndarray) -> None:
        table = self._fs_gid[fs]
        chain, colour = self._fs[fs]
        for cp in np.unique(cps[table[cps] < 0]).tolist():
            table[cp] = len(self.cp_of_gid)
            self.cp_of_gid.append(cp)
            self.chain_of_gid.append(chain)
            self.colour_of_gid.append(colour)
            self.key_of_gid.append(fs * _CODESPACE + cp)

    def per_gid(self, name: str) -> np.ndarray:
        """One of the per-glyph-id lists (``colour_of_gid``, ``key_of_gid``) as an array, made again only
        when glyphs were added (the lists only grow), not for every page."""
        values = getattr(self, name)
        arr = self._gid_arrays.get(name)
        if arr is None or len(arr) != len(values):
            arr = self._gid_arrays[name] = np.asarray(values, dtype=np.int64)
        return arr

    def portable_gids(self, gid: np.ndarray) -> np.ndarray:
        """Glyph ids as keys that an engine for the same θ in another process turns back into its own
        ids (``own_gids``): ids are given out in the order glyphs are met, which differs between them."""
        return self.per_gid("key_of_gid")[gid]

    def own_gids(self, keys: np.ndarray) -> np.ndarray:
        fs, cp = np.divmod(keys, _CODESPACE)  # the marker's key -1 gives font space -1
        gid = np.full(len(keys), MARKER_GID, dtype=np.int32)
        for f in range(int(fs.max()) + 1 if len(fs) else 0):
            if f >= len(self._fs):  # font spaces beyond the first two come from styled documents only
                raise ValueError(f"glyph space {f} is not known to this engine")
            sel = fs == f
            c = cp[sel]
            g = self._fs_gid[f][c]
            new = g < 0
            if new.any():  # characters met here for the first time
                self.chains[self._fs[f][0]].prepare(c[new])  # which fallback face draws each one
                self._assign_gids(f, c[new])
                g = self._fs_gid[f][c]
            gid[sel] = g
        return gid

    # ---- lines ------------------------------------------------------------------------------
    def _indent(self, first: np.ndarray | bool, pid: np.ndarray | int) -> np.ndarray:
        """px from the column's left edge to where a line's text may start."""
        c, p = self.cfg, self.cfg.px
        ind = p(c.left_indent) + self.pad + np.where(first, p(c.first_line_indent), 0.0)
        paras = self.flow.paragraphs
        if paras is not None:
            ind = ind + p(paras.indent[pid]) + np.where(first, p(paras.first[pid]), 0.0)
        return ind

    def _avail(self, first: np.ndarray | bool, pid: np.ndarray | int) -> np.ndarray:
        c, p = self.cfg, self.cfg.px
        return self.col_w - p(c.right_indent) - self.pad - self._indent(first, pid)

    def lines(self, text: str, lo: int, hi: int, first: bool, closed: bool,
              para_base: int) -> tuple[LineBlock, int, bool]:
        """Lay out ``text[lo:hi]``. Returns the block and where/how the next chunk resumes.

        ``closed`` says the chunk ends at a paragraph end; otherwise its last line is dropped and
        the next chunk starts there, so greedy breaking is exactly as if there were no chunks.
        """
        cps = codepoints(text[lo:hi])
        n = len(cps)
        sty = None if self.flow.styles is None else self.flow.styles[lo:hi]
        flags, adv, gid_char = self._tables(cps, sty)
        obj_at, obj_k = self._objects_in(lo, hi)
        if len(obj_at):
            adv[obj_at] = self.obj_w[obj_k]
            gid_char[obj_at] = -1
        cum = np.zeros(n + 1)
        np.cumsum(adv, out=cum[1:])
        is_nl = cps == NEWLINE
        breaks_at_nl = self.newline.text is None
        blank = (flags & BREAK_SPACE) != 0  # hangs at a line end, no ink
        brk = blank if breaks_at_nl else blank | is_nl  # a line may break after it
        # vis[p]: end of the visible text before position p (p = 0..n)
        vis = np.zeros(n + 1, dtype=np.int64)
        np.maximum.accumulate(np.where(blank, 0, np.arange(1, n + 1)), out=vis[1:])
        # break opportunities: opp[p] means a line may end before position p (0 < p < n)
        opp = np.zeros(n + 1, dtype=bool)
        if n > 1:
            prev, cur = flags[:-1], flags[1:]
            starts_word = ~blank[1:]
            o = brk[:-1] & starts_word
            o |= ((prev | cur) & CJK != 0) & starts_word & (cur & NO_START == 0) & (prev & NO_END == 0)
            o |= (prev & HYPHEN != 0) & starts_word & (cur & HYPHEN == 0) & np.r_[False, ~blank[:-2]]
            o &= cur & MARK == 0
            opp[1:n] = o
        opp_pos = np.flatnonzero(opp)
        opp_w = cum[vis[opp_pos]]

        # paragraphs
        if breaks_at_nl:
            nls = np.flatnonzero(is_nl)
            p_start = np.r_[0, nls + 1]
            p_end = np.r_[nls, n]
            if p_start[-1] == n and len(nls):  # ends with a newline: no empty paragraph after it
                p_start, p_end = p_start[:-1], p_end[:-1]
        else:
            p_start, p_end = np.array([0]), np.array([n])
        p_next = np.where(p_end < n, p_end + 1, n) if breaks_at_nl else p_end
        p_first = np.ones(len(p_start), dtype=bool)
        p_first[0] = first
        p_vend = np.maximum(vis[p_end], p_start)
        p_w = cum[p_vend] - cum[p_start]
        fits = p_w <= self._avail(p_first, para_base + np.arange(len(p_start))) + _EPS

        lines = [(p_start[fits], np.maximum(vis[p_end[fits]], p_start[fits]), p_next[fits], p_first[fits],
                  np.ones(int(fits.sum()), dtype=bool), np.flatnonzero(fits))]
        long_paras = np.flatnonzero(~fits)
        if len(long_paras):
            lines.append(self._break_paragraphs(long_paras, p_start, p_end, p_next, p_first, cum, vis,
                                                opp_pos, opp_w, flags, adv, para_base))
        cols = [np.concatenate(parts) for parts in zip(*lines)]
        order = np.argsort(cols[0], kind="stable")
        starts_a, vends_a, nexts_a, firsts_a, lasts_a, pids_a = (a[order] for a in cols)

        resume, resume_first = hi, True
        if not closed and len(starts_a) > 1:
            resume, resume_first = lo + int(starts_a[-1]), bool(firsts_a[-1])
            starts_a, vends_a, nexts_a = starts_a[:-1], vends_a[:-1], nexts_a[:-1]
            firsts_a, lasts_a, pids_a = firsts_a[:-1], lasts_a[:-1], pids_a[:-1]
        elif not closed:  # one line holds the whole chunk (zero-width runs): break it here
            resume, resume_first = lo + int(nexts_a[-1]), False
            lasts_a = lasts_a.copy()
            lasts_a[-1] = False
        block = self._place(text, lo, cps, flags, adv, gid_char, sty, cum, starts_a, vends_a, nexts_a,
                            firsts_a, lasts_a, pids_a + para_base)
        return block, resume, resume_first

    def _break_paragraphs(self, paras, p_start, p_end, p_next, p_first, cum, vis, opp_pos, opp_w,
                          flags, adv, para_base) -> tuple[np.ndarray, ...]:
        """Greedy line breaking of the paragraphs that do not fit on one line."""
        n = len(flags)
        out: list[tuple[int, int, int, bool, bool, int]] = []
        for k in paras.tolist():
            ps, pe, pn, first = int(p_start[k]), int(p_end[k]), int(p_next[k]), bool(p_first[k])
            a0, b0 = np.searchsorted(opp_pos, [ps + 1, pe])
            opp_l = opp_pos[a0:b0].tolist()
            oppw_l = opp_w[a0:b0].tolist()
            cum_l = cum[ps: pe + 1].tolist()  # indexed from ps
            avail_first = float(self._avail(True, para_base + k))
            avail_rest = float(self._avail(False, para_base + k))
            s = ps
            while True:
                avail = avail_first if first else avail_rest
                ve = max(int(vis[pe]), s)
                if cum_l[ve - ps] - cum_l[s - ps] <= avail + _EPS:
                    out.append((s, ve, pn, first, True, k))
                    break
                target = cum_l[s - ps] + avail + _EPS
                lo = bisect.bisect_right(opp_l, s)
                j = bisect.bisect_right(oppw_l, target, lo=lo) - 1
                if j >= lo:
                    p = opp_l[j]
                else:  # nothing fits: break the word anywhere (never before a mark)
                    p = max(bisect.bisect_right(cum_l, target, lo=s - ps) - 1 + ps, s + 1)
                    while p - 1 > s and p < n and flags[p] & MARK:
                        p -= 1
                    # zero-width characters past the measure stay on this line
                    while p < pe and adv[p] == 0 and not flags[p] & BREAK_SPACE:
                        p += 1
                out.append((s, max(int(vis[p]), s), p, first, False, k))
                s, first = p, False
        cols = list(zip(*out))
        return (np.array(cols[0], dtype=np.int64), np.array(cols[1], dtype=np.int64),
                np.array(cols[2], dtype=np.int64), np.array(cols[3], dtype=bool),
                np.array(cols[4], dtype=bool), np.array(cols[5], dtype=np.int64))

    def _place(self, text, lo, cps, flags, adv, gid_char, sty, cum, s, ve, nx, first, last, pid) -> LineBlock:
        """Alignment, justification, line heights and glyph positions for the lines of one chunk."""
        c = self.cfg
        avail = self._avail(first, pid)
        natural = cum[ve] - cum[s]
        stretch = (cps == 32).astype(np.int64)
        scum = np.zeros(len(cps) + 1, dtype=np.int64)
        np.cumsum(stretch, out=scum[1:])
        n_space = scum[ve] - scum[s]
        slack = np.maximum(avail - natural, 0.0)
        code = np.full(len(s), ALIGN_CODES[c.alignment])
        if self.flow.paragraphs is not None:
            own = self.flow.paragraphs.align[pid]
            code = np.where(own == ALIGN_THETA, code, own)
        j = (code == ALIGN_CODES["JUSTIFY"]) & ~last
        extra_space = np.where(j & (n_space > 0), slack / np.maximum(n_space, 1), 0.0)
        n_gaps = ve - s - 1
        extra_char = np.where(j & (n_space == 0) & (n_gaps > 0), slack / np.maximum(n_gaps, 1), 0.0)
        align = np.select([code == ALIGN_CODES["RIGHT"], code == ALIGN_CODES["CENTER"]], [slack, slack / 2], 0.0)
        x0 = self._indent(first, pid) + align
        width = natural + extra_space * n_space + extra_char * np.maximum(ve - s - 1, 0)

        # glyphs: every visible character of every line
        lens = ve - s
        idx = ragged_arange(s, lens)
        line_of = np.repeat(np.arange(len(s)), lens)
        gid = gid_char[idx]
        drawn = gid >= 0
        shaped: dict[int, str] = {}
        complex_chars = (flags[idx] & COMPLEX) != 0
        if complex_chars.any():
            for ln in np.unique(line_of[complex_chars]).tolist():
                shaped[ln] = text[lo + int(s[ln]): lo + int(ve[ln])]
            drawn &= ~np.isin(line_of, list(shaped))
        idx, line_of, gid = idx[drawn], line_of[drawn], gid[drawn]
        ls = s[line_of]
        gx = x0[line_of] + (cum[idx] - cum[ls])
        if extra_space.any():  # justified lines (adding zeros would change nothing)
            gx += extra_space[line_of] * (scum[idx] - scum[ls])
        if extra_char.any():
            gx += extra_char[line_of] * (idx - ls)
        paras = self.flow.paragraphs
        if paras is not None and paras.mark.any():  # wrapped code lines: a mark in the hanging indent
            marked = np.flatnonzero(~first & paras.mark[pid])
            if len(marked):
                cp = np.array([ord(CONTINUATION_MARK)])
                self.fonts.prepare(cp)
                self._assign_gids(self.mark_fs, cp)
                mark_x = x0[marked] - self.fonts.advance[cp[0]] - self.cfg.px(1)
                order = np.argsort(np.r_[line_of, marked], kind="stable")
                line_of = np.r_[line_of, marked][order]
                gx = np.r_[gx, mark_x][order]
                gid = np.r_[gid, np.full(len(marked), self._fs_gid[self.mark_fs][cp[0]], dtype=gid.dtype)][order]
        gptr = np.zeros(len(s) + 1, dtype=np.int64)
        np.cumsum(np.bincount(line_of, minlength=len(s)), out=gptr[1:])
        if sty is None or not len(s):
            height = np.full(len(s), self.line_h)
            base = np.full(len(s), self.baseline_offset)
            desc = np.full(len(s), self.descent)
        else:  # the tallest style on the line sets its height
            at = np.minimum(s, len(sty) - 1)
            lh = np.maximum.reduceat(self.style_lh[sty], at)
            asc = np.maximum.reduceat(self.style_asc[sty], at)
            desc = np.maximum.reduceat(self.style_desc[sty], at)
            height, base = lh, (lh - (asc + desc)) / 2 + asc
        objects: list[tuple[int, float, int]] = []
        obj_at, obj_k = self._objects_in(lo, lo + len(cps))
        if len(obj_at):  # formulas and pictures make their lines taller
            line = np.searchsorted(s, obj_at, side="right") - 1
            inside = (line >= 0) & (obj_at < ve[np.maximum(line, 0)])
            obj_at, obj_k, line = obj_at[inside], obj_k[inside], line[inside]
            up = np.zeros(len(s))
            down = np.zeros(len(s))
            np.maximum.at(up, line, self.obj_up[obj_k])
            np.maximum.at(down, line, self.obj_down[obj_k])
            above = np.maximum(base, up + 1)
            below = np.maximum(height - base, down + 1)
            height = np.maximum(height, above + below)
            base = above + (height - above - below) / 2
            ls_o = s[line]
            ox = (x0[line] + (cum[obj_at] - cum[ls_o]) + extra_space[line] * (scum[obj_at] - scum[ls_o])
                  + extra_char[line] * (obj_at - ls_o))
            objects = list(zip(line.tolist(), ox.tolist(), (obj_at + lo).tolist()))
        return LineBlock(s + lo, ve + lo, nx + lo, first, last, pid, x0, width, height, base, desc, gptr, gx,
                         gid.astype(np.int32), shaped, objects)

    def crop_size(self, page: PageLayout) -> tuple[int, int]:
        """Pixel size of a page after auto-crop (before horizontal scale)."""
        c = self.cfg
        w, h = page.size
        if c.auto_crop_width and len(page.line_right):
            w = min(w, max(MIN_SIDE, int(math.ceil(page.line_right.max() + self.margin_x))))
        if c.auto_crop_last_page and page.last:
            h = min(h, max(MIN_SIDE, int(math.ceil(page.bottom + self.margin_y))))
        return w, h

    def image_size(self, page: PageLayout) -> tuple[int, int]:
        """Final pixel size of a page image: auto-crop, then horizontal scale."""
        w, h = self.crop_size(page)
        if self.cfg.horizontal_scale != 1.0:
            w = max(MIN_SIDE, round(w * self.cfg.horizontal_scale))
        return w, h

    # ---- pages ------------------------------------------------------------------------------
    def pages(self, text: str | Flow) -> Iterator[PageLayout]:
        """Stream the pages of ``text`` (or a styled ``Flow``); memory does not grow with its length."""
        flow = text if isinstance(text, Flow) else Flow(text)
        text = flow.text
        self._bind(flow)
        n = len(text)
        pag = _Paginator(self, n)
        pos, para_base, first = 0, 0, True
        breaks_at_nl = self.newline.text is None
        chunk = min(CHUNK_CHARS, FIRST_CHUNK_CHARS)  # the first pages come early, later chunks are large
        while pos < n:
            hi = min(n, pos + chunk)
            if hi < n and breaks_at_nl:
                cut = text.rfind("\n", pos + chunk // 2, hi)
                if cut != -1:
                    hi = cut + 1
            closed = hi == n or (breaks_at_nl and text[hi - 1] == "\n")
            block, nxt, first = self.lines(text, pos, hi, first, closed, para_base)
            if len(block):
                para_base = int(block.para_id[-1]) + (1 if block.para_last[-1] else 0)
            yield from pag.add(block)
            pos = nxt
            chunk = min(CHUNK_CHARS, 2 * chunk)
        yield from pag.finish()


class _Paginator:
    """Assigns lines to columns and pages; emits a page as soon as it is complete."""

    def __init__(self, eng: LayoutEngine, text_len: int):
        self.e = eng
        self.text_len = text_len
        self.page, self.col = 0, 0
        self.y = 0.0
        # lines of the page being filled: (block, line indices, column, top y, repeated header?)
        self.pending: list[tuple[LineBlock, np.ndarray, np.ndarray, np.ndarray, bool]] = []
        self.pending_page = 0
        self.heads: dict[int, list[tuple[LineBlock, int]]] = {}  # table -> its header lines
        self.copies: list[tuple[int, int, float, LineBlock, int]] = []  # repeated headers: page, col, top, line
        c = eng.cfg
        self.spaced = bool(c.space_before or c.space_after or eng.pad) or not eng.flow.plain
        self.per_col = max(1, int(math.floor(eng.col_h / eng.line_h + _EPS)))
        self.lines_before = 0

    def _assign(self, b: LineBlock) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Page, column and top y (within the column) of each line of ``b``."""
        e, c = self.e, self.e.cfg
        n = len(b)
        if not self.spaced:  # every line is one line-height: pure arithmetic
            g = self.lines_before + np.arange(n)
            self.lines_before += n
            page, rest = np.divmod(g, self.per_col * c.columns)
            col, row = np.divmod(rest, self.per_col)
            return page, col, row * e.line_h
        page = np.empty(n, dtype=np.int64)
        col = np.empty(n, dtype=np.int64)
        top = np.empty(n)
        pad, col_h = e.pad, e.col_h
        paras = e.flow.paragraphs
        sb = c.px(c.space_before) + (c.px(paras.before[b.para_id]) if paras is not None else 0.0)
        sa = c.px(c.space_after) + (c.px(paras.after[b.para_id]) if paras is not None else 0.0)
        if paras is not None:
            table, header, brk = paras.table[b.para_id], paras.header[b.para_id], paras.brk[b.para_id]
        else:
            table, header, brk = np.full(n, -1), np.zeros(n, bool), np.zeros(n, bool)
        rows = zip(b.para_first.tolist(), b.para_last.tolist(), b.height.tolist(), np.broadcast_to(sb, n).tolist(),
                   np.broadcast_to(sa, n).tolist(), table.tolist(), header.tolist(), brk.tolist())
        for i, (pf, pl, lh, sb_i, sa_i, t, head, new_page) in enumerate(rows):
            before = (sb_i if pf and self.y > 0 else 0.0) + (pad if pf or self.y == 0 else 0.0)
            if new_page and pf and (self.y > 0 or self.col > 0):
                self.col, self.page, self.y, before = 0, self.page + 1, 0.0, pad
            elif self.y > 0 and self.y + before + lh > col_h + _EPS:
                self.col += 1
                if self.col == c.columns:
                    self.col, self.page = 0, self.page + 1
                self.y, before = 0.0, pad
                if t >= 0 and not head:  # a table continues: its header first
                    for hb, hi in self.heads.get(t, []):
                        self.copies.append((self.page, self.col, self.y, hb, hi))
                        self.y += float(hb.height[hi])
            if head and t >= 0:
                self.heads.setdefault(t, []).append((b, i))
            self.y += before
            page[i], col[i], top[i] = self.page, self.col, self.y
            self.y += lh + ((sa_i + pad) if pl else 0.0)
        return page, col, top

    def add(self, b: LineBlock) -> Iterator[PageLayout]:
        if not len(b):
            return
        page, col, top = self._assign(b)
        cuts = np.r_[0, np.flatnonzero(np.diff(page)) + 1, len(b)]
        for a, z in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
            if self.pending and int(page[a]) != self.pending_page:
                yield self._emit(last=False)
            self.pending_page = pg = int(page[a])
            for cp in [cp for cp in self.copies if cp[0] == pg]:
                self.pending.append((cp[3], np.array([cp[4]]), np.array([cp[1]]), np.array([cp[2]]), True))
            self.copies = [cp for cp in self.copies if cp[0] != pg]
            self.pending.append((b, np.arange(a, z), col[a:z], top[a:z], False))

    def finish(self) -> Iterator[PageLayout]:
        if self.pending:
            yield self._emit(last=True)

    def _emit(self, last: bool) -> PageLayout:
        e, c = self.e, self.e.cfg
        segs, self.pending = self.pending, []
        base, left, right, gx, gid, gline, lstart, lend = [], [], [], [], [], [], [], []
        shaped: list[tuple[float, int, str]] = []
        objects: list[tuple[float, int, int]] = []
        boxes: list[tuple[float, float, float, float]] = []
        n_lines = 0
        bottom = 0.0
        for b, sl, col, top, _copy in segs:
            colx = e.margin_x + col * (e.col_w + c.px(c.column_gap))
            bl = np.round(e.margin_y + top + b.base[sl]).astype(np.int64)
            bottom = max(bottom, float((bl + b.descent[sl]).max()))
            base.append(bl)
            lstart.append(b.start[sl])
            lend.append(b.vend[sl])
            left.append(colx)
            right.append(colx + b.x0[sl] + b.width[sl])
            g0, g1 = int(b.gptr[sl[0]]), int(b.gptr[sl[-1] + 1])
            li = np.repeat(np.arange(len(sl)), np.diff(b.gptr[sl[0]: sl[-1] + 2]))
            gx.append(b.gx[g0:g1] + colx[li])
            gid.append(b.gid[g0:g1])
            gline.append(li + n_lines)
            if b.shaped:
                for k, ln in enumerate(sl.tolist()):
                    if ln in b.shaped:
                        shaped.append((float(colx[k] + b.x0[ln]), int(bl[k]), b.shaped[ln]))
            if b.objects:
                first_line = int(sl[0])
                for ln, x, idx in b.objects:
                    if first_line <= ln <= int(sl[-1]):
                        k = ln - first_line
                        objects.append((float(colx[k] + x), int(bl[k]), idx))
            boxes.extend(self._boxes(b, sl, colx, top))
            n_lines += len(sl)
        own = [seg for seg in segs if not seg[4]]  # repeated headers do not count for source ranges
        first_b, first_sl = own[0][0], own[0][1]
        last_b, last_sl = own[-1][0], own[-1][1]
        start = 0 if self.pending_page == 0 else int(first_b.start[first_sl[0]])
        end = self.text_len if last else min(int(last_b.nxt[last_sl[-1]]), self.text_len)
        base_a = np.concatenate(base)
        return PageLayout(self.pending_page, (start, end), (e.page_w, e.page_h), np.concatenate(lstart),
                          np.concatenate(lend), base_a,
                          np.concatenate(left), np.concatenate(right), np.concatenate(gx),
                          np.concatenate(gid), np.concatenate(gline), shaped, boxes, bottom, last,
                          objects=objects)

    def _boxes(self, b: LineBlock, sl: np.ndarray, colx: np.ndarray, top: np.ndarray) -> list:
        """Paragraph rectangles (background, border) of these lines, split at column changes."""
        e, c = self.e, self.e.cfg
        if not (c.border_width > 0 or c.para_bg_color.lower() != c.page_bg_color.lower()):
            return []
        out = []
        pid = b.para_id[sl]
        cuts = np.r_[0, np.flatnonzero((np.diff(pid) != 0) | (np.diff(colx) != 0)) + 1, len(sl)]
        for a, z in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
            x0 = float(colx[a]) + c.px(c.left_indent)
            x1 = float(colx[a]) + e.col_w - c.px(c.right_indent)
            y0 = e.margin_y + float(top[a]) - e.pad
            y1 = e.margin_y + float(top[z - 1]) + float(b.height[sl[z - 1]]) + e.pad
            out.append((x0, y0, x1, y1))
        return out


def _metrics(chain: FontChain) -> tuple[float, float]:
    """Ascent and descent (px, positive) of a chain's primary face."""
    font = chain.face(0).pil.font
    return float(font.ascent), float(abs(font.descent))
