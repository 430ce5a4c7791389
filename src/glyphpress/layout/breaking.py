"""Line breaking: the segments of a chunk become lines, greedily.

Between words (``_between``): a segment that fits on one line is one line (most source lines,
found for all segments at once); longer ones go line by line, each line ending at the last break
opportunity that fits, found by binary search over the opportunities' cumulative widths. A word
longer than the line is cut between characters: at the start of the next line (tight rules), or, as
ReportLab does, on the current line after the words already there.

Between characters (``_per_char``): ReportLab's CJK wrapping, where a line ends before the first
character that overflows, moves back to a space or an ideograph when that character is Latin, and
keeps a character that may not start a line (closing punctuation, small kana) on the line it ends.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from .chars import BREAK_SPACE, MARK, RL_NO_START, ZS
from .rules import Chunk

EPS = 1e-6  # ReportLab's _FUZZ; also absorbs rounding in sums of widths


@dataclass
class Lines:
    """Lines of a chunk, in display positions, ordered."""

    start: np.ndarray
    vend: np.ndarray  # end of the visible text (hanging white space excluded)
    next: np.ndarray  # where the line after it starts
    seg: np.ndarray  # the segment it belongs to
    first: np.ndarray  # the first line of its segment
    last: np.ndarray  # the last line of its segment

    def __len__(self) -> int:
        return len(self.start)

    def take(self, keep: np.ndarray | slice) -> Lines:
        return Lines(self.start[keep], self.vend[keep], self.next[keep], self.seg[keep], self.first[keep],
                     self.last[keep])


def visible_end(blank: np.ndarray) -> np.ndarray:
    """vis[p]: end of the visible text before position p (blanks excluded), p = 0..n."""
    n = len(blank)
    vis = np.zeros(n + 1, dtype=np.int64)
    np.maximum.accumulate(np.where(blank, 0, np.arange(1, n + 1)), out=vis[1:])
    return vis


def break_lines(ch: Chunk, avail_first: np.ndarray, avail_rest: np.ndarray, words_stay: bool) -> Lines:
    """Lines of every segment not dropped. ``avail_*`` are per segment, in the chunk's fit units.
    ``words_stay``: a word longer than a line starts on the current line (ReportLab) rather than the next."""
    keep = ~ch.seg_drop
    segs = np.flatnonzero(keep)
    if ch.per_char:
        return _lines([row for k in segs.tolist()
                       for row in _per_char(ch, k, float(avail_first[k]), float(avail_rest[k]))])
    n = len(ch)
    cum = np.zeros(n + 1)
    np.cumsum(ch.fit, out=cum[1:])
    vis = visible_end(ch.blank)
    s, e, nx = ch.seg_start[segs], ch.seg_end[segs], ch.seg_next[segs]
    ve = np.maximum(vis[e], s)
    fits = cum[ve] - cum[s] <= avail_first[segs] + EPS
    parts = [Lines(s[fits], ve[fits], nx[fits], segs[fits], np.ones(int(fits.sum()), bool),
                   np.ones(int(fits.sum()), bool))]
    long_segs = segs[~fits]
    if len(long_segs):
        measure = cum if ch.measure is ch.fit else np.r_[0.0, np.cumsum(ch.measure)]
        parts.append(_lines(_between(ch, long_segs, cum, measure, vis, avail_first, avail_rest, words_stay)))
    lines = Lines(*(np.concatenate(a) for a in zip(*((p.start, p.vend, p.next, p.seg, p.first, p.last)
                                                      for p in parts))))
    return lines.take(np.argsort(lines.start, kind="stable"))


def _lines(rows: list[tuple]) -> Lines:
    """Lines from rows of (start, visible end, next, segment, first, last)."""
    if not rows:
        z = np.zeros(0, dtype=np.int64)
        return Lines(z, z, z, z, z.astype(bool), z.astype(bool))
    cols = list(zip(*rows))
    return Lines(np.array(cols[0], dtype=np.int64), np.array(cols[1], dtype=np.int64),
                 np.array(cols[2], dtype=np.int64), np.array(cols[3], dtype=np.int64),
                 np.array(cols[4], dtype=bool), np.array(cols[5], dtype=bool))


def _between(ch: Chunk, segs: np.ndarray, cum: np.ndarray, measure: np.ndarray, vis: np.ndarray,
             avail_first: np.ndarray, avail_rest: np.ndarray, words_stay: bool) -> list[tuple]:
    """Greedy breaking at opportunities of the segments that do not fit on one line."""
    opp_pos = np.flatnonzero(ch.opp)
    opp_w = cum[vis[opp_pos]]
    flags, adv = ch.flags, ch.fit
    n = len(ch)
    out: list[tuple] = []
    for k in segs.tolist():
        ps, pe, pn = int(ch.seg_start[k]), int(ch.seg_end[k]), int(ch.seg_next[k])
        a0, b0 = np.searchsorted(opp_pos, [ps + 1, pe])
        opp_l = opp_pos[a0:b0].tolist()
        oppw_l = opp_w[a0:b0].tolist()
        cum_l = cum[ps: pe + 1].tolist()  # indexed from ps
        meas_l = cum_l if measure is cum else measure[ps: pe + 1].tolist()
        a_first, a_rest = float(avail_first[k]), float(avail_rest[k])
        s, first = ps, True
        while True:
            avail = a_first if first else a_rest
            ve = max(int(vis[pe]), s)
            if cum_l[ve - ps] - cum_l[s - ps] <= avail + EPS:
                out.append((s, ve, pn, k, first, True))
                break
            target = cum_l[s - ps] + avail + EPS
            lo = bisect.bisect_right(opp_l, s)
            j = bisect.bisect_right(oppw_l, target, lo=lo) - 1
            if j >= lo:
                p = opp_l[j]
                if words_stay:  # a word longer than any line starts here, after the words before it
                    word_end = int(vis[opp_l[j + 1]]) if j + 1 < len(opp_l) else int(vis[pe])
                    if meas_l[word_end - ps] - meas_l[p - ps] > avail:
                        p = _fill(meas_l, ps, s, p, avail)
            elif words_stay:
                p = _fill(meas_l, ps, s, s, avail)
            else:  # nothing fits: break the word anywhere (never before a mark)
                p = max(bisect.bisect_right(cum_l, target, lo=s - ps) - 1 + ps, s + 1)
                while p - 1 > s and p < n and flags[p] & MARK:
                    p -= 1
                # zero-width characters past the measure stay on this line
                while p < pe and adv[p] == 0 and not flags[p] & BREAK_SPACE:
                    p += 1
            out.append((s, max(int(vis[p]), s), p, k, first, False))
            s, first = p, False
    return out


def _fill(meas_l: list[float], ps: int, s: int, p: int, avail: float) -> int:
    """ReportLab's split of a long word starting at ``p``: as many of its characters as fit on the
    line that starts at ``s`` (at least one character on an otherwise empty line)."""
    limit = meas_l[s - ps] + avail
    q = bisect.bisect_right(meas_l, limit, lo=p - ps) - 1 + ps
    return max(q, p + 1 if p == s else p)


def _per_char(ch: Chunk, k: int, a_first: float, a_rest: float) -> list[tuple]:
    """ReportLab's CJK wrapping of one segment (reportlab.platypus.paragraph.cjkFragSplit)."""
    ps, pe, pn = int(ch.seg_start[k]), int(ch.seg_end[k]), int(ch.seg_next[k])
    w = ch.measure
    cum = np.r_[0.0, np.cumsum(w[ps:pe])].tolist()
    cps, flags = ch.cps, ch.flags
    out: list[tuple] = []
    s, first = ps, True
    while s < pe:
        avail = a_first if first else a_rest
        limit = cum[s - ps] + avail + EPS
        i = bisect.bisect_right(cum, limit, lo=s - ps) + ps  # i - 1 is the first character that overflows
        if i > pe:  # the rest fits
            break
        u = i - 1
        if cps[u] < 0x3000:  # Latin inside CJK: back to a space or an ideograph in the line's second half
            for j in range(i - 1, (s + i) >> 1, -1):
                if (flags[j] & ZS or cps[j] >= 0x3000) and j + 1 < i:
                    u, i = j + 1, j + 2
                    break
        if not flags[u] & RL_NO_START and i > s + 1:
            i -= 1  # the overflowing character starts the next line, unless it may not start one
        out.append((s, i, i, k, first, False))
        s, first = i, False
    # the rest is a line if it has width, or if a line break ends the segment (even an empty line)
    if cum[pe - ps] - cum[s - ps] > 0 or (pn > pe and not ch.seg_last[k]) or not out:
        out.append((s, pe, pn, k, first, True))
    else:  # nothing is left after the last full line: that line ends the segment
        s0, e0, _, _, f0, _ = out[-1]
        out[-1] = (s0, e0, pn, k, f0, True)
    return out
