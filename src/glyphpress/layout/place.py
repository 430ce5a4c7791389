"""Placing broken lines: alignment, justification, line heights and the x of every glyph."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .breaking import Lines
from .chars import COMPLEX
from .flow import ALIGN_CODES, ALIGN_THETA
from .glyphs import MARKER_GID
from .model import LineBlock, ShapedRun
from .rules import Chunk

if TYPE_CHECKING:
    from .engine import DocumentLayout

_JUSTIFY, _RIGHT, _CENTER = ALIGN_CODES["JUSTIFY"], ALIGN_CODES["RIGHT"], ALIGN_CODES["CENTER"]


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


def place(doc: DocumentLayout, ch: Chunk, lines: Lines, pid: np.ndarray, first: np.ndarray,
          last: np.ndarray, hard_end: np.ndarray | bool = False) -> LineBlock:
    """The lines of a chunk as a ``LineBlock``. ``first``/``last``: the line starts/ends its paragraph;
    ``hard_end``: a line break follows it. Neither a paragraph's last line nor one before a break is
    justified."""
    eng = doc.engine
    c = eng.cfg
    s, ve = lines.start, lines.vend
    published = doc.published
    avail = doc.avail(first, pid)
    measure = np.zeros(len(ch) + 1)
    np.cumsum(ch.measure, out=measure[1:])
    natural = measure[ve] - measure[s]
    scum = np.zeros(len(ch) + 1, dtype=np.int64)
    np.cumsum(ch.stretch, out=scum[1:])
    n_space = scum[ve] - scum[s]
    code = np.full(len(s), ALIGN_CODES[c.alignment])
    paras = doc.flow.paragraphs
    if paras is not None:
        own = paras.align[pid]
        code = np.where(own == ALIGN_THETA, code, own)
    justify = code == _JUSTIFY
    if published:
        # ReportLab sets word spacing (the slack shared by the line's spaces, no-break ones too: ``stretch``)
        # on a justified line, and on any line that overflows its measure (its spaces shrink to fit); it
        # offsets the others by their slack (right) or half of it (centre)
        slack = avail - natural
        even = hard_end | (np.abs(slack) <= 1e-8) | (last & (slack > -1e-8))
        spaced = np.where(justify, ~even, slack < -1e-8) & (n_space > 0)
        extra_space = np.where(spaced, slack / np.maximum(n_space, 1), 0.0)
        extra_char = np.zeros(len(s))
        offset = ~spaced & ~justify
    else:
        slack = np.maximum(avail - natural, 0.0)
        justified = justify & ~last & ~hard_end
        extra_space = np.where(justified & (n_space > 0), slack / np.maximum(n_space, 1), 0.0)
        n_gaps = ve - s - 1
        extra_char = np.where(justified & (n_space == 0) & (n_gaps > 0), slack / np.maximum(n_gaps, 1), 0.0)
        offset = True
    align = np.select([(code == _RIGHT) & offset, (code == _CENTER) & offset], [slack, slack / 2], 0.0)
    units = ch.units
    x0 = doc.indent(first, pid) + align * units
    width = (natural + extra_space * n_space) * units + extra_char * np.maximum(ve - s - 1, 0)

    # glyphs: every visible character of every line
    draw = ch.draw
    dcum = measure * units if draw is ch.measure else np.r_[0.0, np.cumsum(draw)]
    lens = ve - s
    idx = ragged_arange(s, lens)
    line_of = np.repeat(np.arange(len(s)), lens)
    gid = ch.gid[idx]
    drawn = gid >= 0
    shaped: dict[int, list[ShapedRun]] = {}
    complex_chars = (ch.flags[idx] & COMPLEX) != 0
    if complex_chars.any():
        to_shape = np.isin(line_of, np.unique(line_of[complex_chars])) & ~_marker(ch, idx)
        shaped = _shaped_runs(doc, ch, idx[to_shape], line_of[to_shape], s, dcum, scum, units, extra_space,
                              extra_char)
        drawn &= ~to_shape
    idx, line_of, gid = idx[drawn], line_of[drawn], gid[drawn]
    if published and not c.letter_spacing and len(idx) and int(lens.max()) * len(s) <= 1 << 22:
        gx = _pdf_pen_x(idx, s, lens, line_of, x0, ch.measure, ch.stretch, units, extra_space, c.font_size)
    else:
        gx = x0[line_of] + _pen_x(idx, s[line_of], line_of, dcum, scum, units, extra_space, extra_char)
    if paras is not None and paras.mark.any():  # wrapped code lines: a mark in the hanging indent
        marked = np.flatnonzero(~first & paras.mark[pid])
        if len(marked):
            mark_gid, mark_w = doc.continuation_mark()
            mark_x = x0[marked] - mark_w - c.px(1)
            order = np.argsort(np.r_[line_of, marked], kind="stable")
            line_of = np.r_[line_of, marked][order]
            gx = np.r_[gx, mark_x][order]
            gid = np.r_[gid, np.full(len(marked), mark_gid, dtype=gid.dtype)][order]
    gptr = np.zeros(len(s) + 1, dtype=np.int64)
    np.cumsum(np.bincount(line_of, minlength=len(s)), out=gptr[1:])
    height, base, desc = doc.line_heights(ch, s)
    objects = []
    if doc.objects:
        height, base, objects = doc.place_objects(ch, lines, x0, measure, scum, extra_space, extra_char,
                                                  height, base)
    start = ch.lo + ch.starts_to_source(s)
    vend = np.maximum(start, ch.lo + ch.ends_to_source(ve))  # an empty line after removed characters
    return LineBlock(start, vend, first, last, pid, x0, width, height, base, desc, gptr, gx, gid.astype(np.int32),
                     shaped, objects, np.broadcast_to(hard_end, len(s)) & ~last)


def _pen_x(idx, ls, line_of, dcum, scum, units, extra_space, extra_char) -> np.ndarray:
    """Pen x of display characters ``idx`` from their line's start ``ls``, justification included."""
    x = dcum[idx] - dcum[ls]
    if extra_space.any():  # justified lines (adding zeros would change nothing)
        x = x + extra_space[line_of] * units * (scum[idx] - scum[ls])
    if extra_char.any():
        x = x + extra_char[line_of] * (idx - ls)
    return x


def _pdf_pen_x(idx, s, lens, line_of, x0, measure, stretch, units, extra_space, size) -> np.ndarray:
    """Pen x of display characters ``idx`` as poppler finds it in the published PDF: from the line's start,
    each character's width as the PDF writes it (1/1000 em to 4 decimals) times the size, plus the word
    spacing on spaces, added one character after another."""
    n_lines, longest = len(s), int(lens.max())
    steps = np.zeros((n_lines, longest + 1))
    steps[:, 0] = np.round(x0 / units, 4)
    q = ragged_arange(np.zeros(n_lines, dtype=np.int64), lens)
    line = np.repeat(np.arange(n_lines), lens)
    j = s[line] + q
    steps[line, q + 1] = (np.round(measure[j] / (0.001 * size), 4) * (0.001 * size)
                          + extra_space[line] * stretch[j])
    pen = np.add.accumulate(steps, axis=1)  # one character after another, as the PDF is read
    return pen[line_of, idx - s[line_of]] * units


def _marker(ch: Chunk, idx: np.ndarray) -> np.ndarray:
    """Which display characters ``idx`` draw the newline marker (from the atlas, in its own colour)."""
    marker = ch.gid[idx] == MARKER_GID
    if ch.marker is not None:
        marker |= ch.marker[idx]
    return marker


def _shaped_runs(doc: DocumentLayout, ch: Chunk, idx, line_of, s, dcum, scum, units, extra_space,
                 extra_char) -> dict[int, list[ShapedRun]]:
    """The characters ``idx`` of lines that need shaping, as runs of one face each (a Thai word in a Latin
    line takes the Thai font). Spaces and characters without a glyph of their own go with the run around
    them; tabs and control characters end a run and are not drawn."""
    gid = ch.gid[idx]
    cps = ch.cps[idx]
    chain, face = doc.engine.glyphs.faces(np.maximum(gid, 0))
    key = np.where(gid >= 0, chain * 256 + face, -1)
    control = (cps < 32) | ((cps >= 0x7F) & (cps < 0xA0))
    key[control] = -2
    known = np.flatnonzero(key != -1)
    if len(known):  # carried forward from the glyph before (or back from the first one after)
        at = np.maximum(np.searchsorted(known, np.arange(len(key)), side="right") - 1, 0)
        key = key[known[at]]
    key[control] = -2
    x = _pen_x(idx, s[line_of], line_of, dcum, scum, units, extra_space, extra_char)
    new = np.r_[True, (line_of[1:] != line_of[:-1]) | (key[1:] != key[:-1]) | (idx[1:] != idx[:-1] + 1)]
    begin = np.flatnonzero(new)
    end = np.r_[begin[1:], len(idx)]
    runs: dict[int, list[ShapedRun]] = {int(ln): [] for ln in np.unique(line_of)}
    for i, j, ln, k in zip(begin.tolist(), end.tolist(), line_of[begin].tolist(), key[begin].tolist()):
        if k >= 0:
            text = "".join(map(chr, cps[i:j].tolist()))
            runs[ln].append(ShapedRun(float(x[i]), 0, text, k // 256, k % 256))
    return runs
