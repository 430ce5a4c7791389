"""Pagination: placed lines go to columns and pages; a page is emitted as soon as it is complete.

``TightPaginator`` stacks lines (each its own height, paragraph spacing added) and moves to the next
column when one does not fit; tables repeat their header rows where they continue. ``FramePaginator``
is the published renderer's: ReportLab frames (one per column) inside the margins with 6 pt of
padding, paragraphs of 30 source lines stacked with their spacing (the larger of one's space after
and the next one's space before; none at the top of a frame), a paragraph that does not fit split
after as many lines as fit, unless that leaves only its first line at the bottom (then it moves on
whole), the first baseline one font size below the paragraph's top. It works in points, as ReportLab
does, so that the same sums decide the same page breaks. ReportLab's habits at a split are kept too: a
paragraph split right after a line ended by a line break continues with an empty line, and its first
part drops an empty line it would end with.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from .geometry import FRAME_PADDING
from .model import LineBlock, PageLayout, ShapedRun

if TYPE_CHECKING:
    from .engine import DocumentLayout

_EPS = 1e-6


def _pdf_number(x: float) -> float:
    """A number as ReportLab writes it into a PDF (six decimals below 1, else seven significant digits)."""
    a = abs(x)
    if a <= 1e-7:
        return 0.0
    digits = 6 if a <= 1 else min(max(0, 6 - int(math.log10(a))), 6)
    return float(f"{x:.{digits}f}")


class _Pages:
    """Collects the lines placed on the page being filled and emits it as a ``PageLayout``."""

    def __init__(self, doc: DocumentLayout, text_len: int):
        self.doc, self.geo = doc, doc.engine.geometry
        self.text_len = text_len
        # lines of the page being filled: (block, line indices, column, baseline rows, a repeated header?)
        self.pending: list[tuple[LineBlock, np.ndarray, np.ndarray, np.ndarray, bool]] = []
        self.pending_boxes: list[tuple[float, float, float, float]] = []
        self.pending_covers: list[tuple[float, float, float, float]] = []
        self.pending_page = 0
        self.emitted = 0

    def _put(self, page: int, block: LineBlock, sl: np.ndarray, col: np.ndarray, base: np.ndarray,
             copy: bool = False) -> Iterator[PageLayout]:
        """Add lines to ``page``; emits the page before it when this starts a new one."""
        if self.pending and page != self.pending_page:
            yield self._emit(last=False, end=int(block.start[sl[0]]))
        self.pending_page = page
        self.pending.append((block, sl, col, base, copy))

    def finish(self) -> Iterator[PageLayout]:
        if self.pending or not self.emitted:  # a text with no line at all still makes a page
            yield self._emit(last=True, end=self.text_len)

    def _emit(self, last: bool, end: int) -> PageLayout:
        self.emitted += 1
        geo = self.geo
        if not self.pending:
            z, e = np.zeros(0, dtype=np.int64), np.zeros(0)
            return PageLayout(self.pending_page, (0, end), (geo.page_w, geo.page_h), z, z, z, e, e, e, z, z, [], [],
                              0.0, last)
        segs, self.pending = self.pending, []
        boxes, self.pending_boxes = self.pending_boxes, []
        covers, self.pending_covers = self.pending_covers, []
        base, left, right, gx, gid, gline, lstart, lend = [], [], [], [], [], [], [], []
        shaped: list[ShapedRun] = []
        objects = []
        n_lines = 0
        bottom = 0.0
        for b, sl, col, bl, _copy in segs:
            colx = geo.column_x(col)
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
                    for run in b.shaped.get(ln, ()):
                        shaped.append(replace(run, x=float(colx[k] + b.x0[ln] + run.x), baseline=int(bl[k])))
            if b.objects:
                first_line = int(sl[0])
                for ln, x, obj in b.objects:
                    if first_line <= ln <= int(sl[-1]):
                        k = ln - first_line
                        objects.append((float(colx[k] + x), int(bl[k]), obj))
            n_lines += len(sl)
        own = [seg for seg in segs if not seg[4]]  # repeated headers do not count for source ranges
        start = 0 if self.pending_page == 0 else int(own[0][0].start[own[0][1][0]])
        return PageLayout(self.pending_page, (start, end), (geo.page_w, geo.page_h), np.concatenate(lstart),
                          np.concatenate(lend), np.concatenate(base), np.concatenate(left), np.concatenate(right),
                          np.concatenate(gx), np.concatenate(gid), np.concatenate(gline), shaped, boxes, bottom,
                          last, objects=objects, covers=covers)


class TightPaginator(_Pages):
    """Lines stacked by their own heights, with paragraph spacing and repeated table headers."""

    def __init__(self, doc: DocumentLayout, text_len: int):
        super().__init__(doc, text_len)
        self.page, self.col = 0, 0
        self.y = 0.0
        self.heads: dict[int, list[tuple[LineBlock, int]]] = {}  # table -> its header lines
        self.copies: list[tuple[int, int, float, LineBlock, int]] = []  # repeated headers: page, col, top, line
        c, geo = doc.engine.cfg, self.geo
        self.spaced = bool(c.space_before or c.space_after or geo.pad) or not doc.flow.plain
        self.per_col = max(1, int(math.floor(geo.col_h / geo.line_h + _EPS)))
        self.lines_before = 0

    def _assign(self, b: LineBlock) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Page, column and top y (within the column) of each line of ``b``."""
        geo, c = self.geo, self.doc.engine.cfg
        n = len(b)
        if not self.spaced:  # every line is one line-height: pure arithmetic
            g = self.lines_before + np.arange(n)
            self.lines_before += n
            page, rest = np.divmod(g, self.per_col * c.columns)
            col, row = np.divmod(rest, self.per_col)
            return page, col, row * geo.line_h
        page = np.empty(n, dtype=np.int64)
        col = np.empty(n, dtype=np.int64)
        top = np.empty(n)
        pad, col_h = geo.pad, geo.col_h
        paras = self.doc.flow.paragraphs
        sb = c.px(c.space_before) + (c.px(paras.before[b.para_id]) if paras is not None else 0.0)
        sa = c.px(c.space_after) + (c.px(paras.after[b.para_id]) if paras is not None else 0.0)
        if paras is not None:
            table, header, brk = paras.table[b.para_id], paras.header[b.para_id], paras.brk[b.para_id]
        else:
            table, header, brk = np.full(n, -1), np.zeros(n, bool), np.zeros(n, bool)
        if (not pad and not brk.any() and not header.any() and (table < 0).all() and b.height.min() > 0
                and np.min(sb) >= 0 and np.min(sa) >= 0):  # code, plain paragraphs: a column at a time
            return self._stack(b.height, np.where(b.para_first, sb, 0.0), np.where(b.para_last, sa, 0.0))
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

    def _stack(self, heights: np.ndarray, before: np.ndarray, after: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``_assign`` for lines of positive height without padding, tables or page breaks, with the space
        each has ``before`` it (none at the top of a column) and ``after`` it: each line goes below the
        last, or to the next column where it would overflow. A column's worth of lines at a time; the tops
        are the same sums in the same order as line by line, so the same floats."""
        col_h, columns = self.geo.col_h, self.doc.engine.cfg.columns
        n = len(heights)
        page = np.empty(n, dtype=np.int64)
        col = np.empty(n, dtype=np.int64)
        top = np.empty(n)
        step = heights + after
        window = int((col_h + _EPS) / float(heights.min())) + 2  # more lines than a column holds
        i = 0
        while i < n:
            k = min(n, i + window)
            adds = np.empty(2 * (k - i))  # y grows by the space before a line, then by the line and after it
            adds[0::2], adds[1::2] = before[i:k], step[i:k]
            if self.y == 0:
                adds[0] = 0.0
            y = np.cumsum(np.r_[self.y, adds])  # y[2m]: y before line i + m; y[2m + 1]: its top
            over = (y[0:-1:2] > 0) & (y[1::2] + heights[i:k] > col_h + _EPS)
            j = int(np.argmax(over)) if over.any() else k - i
            page[i:i + j], col[i:i + j], top[i:i + j] = self.page, self.col, y[1:2 * j:2]
            self.y = float(y[2 * j])
            i += j
            if over.any():  # line i opens the next column
                self.col, self.y = self.col + 1, 0.0
                if self.col == columns:
                    self.col, self.page = 0, self.page + 1
        return page, col, top

    def add(self, b: LineBlock) -> Iterator[PageLayout]:
        if not len(b):
            return
        page, col, top = self._assign(b)
        cuts = np.r_[0, np.flatnonzero(np.diff(page)) + 1, len(b)]
        for a, z in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
            pg = int(page[a])
            sl = np.arange(a, z)
            copies = [cp for cp in self.copies if cp[0] == pg]
            self.copies = [cp for cp in self.copies if cp[0] != pg]
            if copies and self.pending and pg != self.pending_page:  # the page before is complete
                yield self._emit(last=False, end=int(b.start[a]))
            for cp in copies:
                hb, hi = cp[3], np.array([cp[4]])
                yield from self._put(pg, hb, hi, np.array([cp[1]]), self._rows(hb, hi, [cp[2]]), copy=True)
                self._boxes(hb, hi, np.array([cp[1]]), np.array([cp[2]]))
            yield from self._put(pg, b, sl, col[a:z], self._rows(b, sl, top[a:z]))
            self._boxes(b, sl, col[a:z], top[a:z])

    def _rows(self, b: LineBlock, sl, top) -> np.ndarray:
        return np.round(self.geo.text_top + np.asarray(top) + b.base[sl]).astype(np.int64)

    def _boxes(self, b: LineBlock, sl: np.ndarray, col: np.ndarray, top: np.ndarray) -> None:
        """Paragraph rectangles (background, border) of these lines, split at column changes."""
        geo, c = self.geo, self.doc.engine.cfg
        if not geo.boxes:
            return
        colx = geo.column_x(col)
        pid = b.para_id[sl]
        cuts = np.r_[0, np.flatnonzero((np.diff(pid) != 0) | (np.diff(colx) != 0)) + 1, len(sl)]
        for a, z in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
            x0 = float(colx[a]) + geo.frame_pad + c.px(c.left_indent)
            x1 = float(colx[a]) + geo.frame_pad + geo.col_w - c.px(c.right_indent)
            y0 = geo.text_top + float(top[a]) - geo.pad
            y1 = geo.text_top + float(top[z - 1]) + float(b.height[sl[z - 1]]) + geo.pad
            self.pending_boxes.append((x0, y0, x1, y1))


class FramePaginator(_Pages):
    """The published renderer's frames and paragraphs (see the module docstring). Lines of plain text
    only: every line is one leading tall."""

    def __init__(self, doc: DocumentLayout, text_len: int):
        super().__init__(doc, text_len)
        c = doc.engine.cfg
        self.leading, self.size = float(c.line_height), float(c.font_size)
        self.sb, self.sa = float(c.space_before), float(c.space_after)
        page_h = float(c.page_size[1])
        self.page_h = page_h
        # ReportLab's SimpleDocTemplate frame: y1 = bottom margin, height = page - margins; padding inside
        y1 = float(c.margin_y)
        height = page_h - c.margin_y - c.margin_y
        self.y_top = (y1 + height) - FRAME_PADDING
        self.y_bottom = y1 + FRAME_PADDING
        self.frame = 0
        self.y, self.at_top, self.prev_after = self.y_top, True, 0.0
        self.per_frame = max(1, int((self.y_top - self.y_bottom) / self.leading))
        self.queue: list[tuple[LineBlock, int]] = []  # lines of the paragraph being placed, not yet placed
        self.complete = False  # its last line is in the queue
        self.rewraps = doc.rules.per_char  # a split paragraph's rest is wrapped again (ReportLab's CJK wrapping)

    def add(self, b: LineBlock) -> Iterator[PageLayout]:
        if not len(b):
            return
        ends = np.flatnonzero(b.para_last).tolist()
        i = 0
        for e in ends + ([len(b) - 1] if not ends or ends[-1] != len(b) - 1 else []):
            self.queue.extend((b, k) for k in range(i, e + 1))
            self.complete = bool(b.para_last[e])
            i = e + 1
            yield from self._place()

    def finish(self) -> Iterator[PageLayout]:
        self.complete = True
        yield from self._place()
        yield from super().finish()

    def _baseline_rows(self, bottom: float, n: int) -> np.ndarray:
        """Pixel rows of the baselines of ``n`` lines of a paragraph whose box starts at ``bottom`` (points,
        from the page's foot), reckoned as the PDF does it: ReportLab writes the paragraph's origin and
        first baseline with 6 to 7 digits, each next line one leading down; poppler maps them through
        the page matrix and puts a glyph on the pixel row its baseline falls in (rounding down). Where
        a baseline falls exactly on a pixel boundary, its arithmetic decides the row, so it is followed
        step by step."""
        k = self.geo.scale
        ctm5 = (0.0 * 0.0 + _pdf_number(bottom) * -k) + k * self.page_h  # after "1 0 0 1 x bottom cm"
        leading = _pdf_number(self.leading)
        line_y, rows = 0.0, np.empty(n, dtype=np.int64)
        first = _pdf_number(n * self.leading - self.size)  # "BT 1 0 0 1 x first Tm", then "T*" per line
        for i in range(n):
            y_user = 0.0 * 0.0 + 1.0 * line_y + first
            rows[i] = math.floor(0.0 * 0.0 + -k * y_user + ctm5)
            line_y = line_y - leading
        return rows

    def _next_frame(self) -> None:
        self.frame += 1
        self.y, self.at_top, self.prev_after = self.y_top, True, 0.0

    def _place(self) -> Iterator[PageLayout]:
        """Place as much of the queued paragraph as can be decided: all of it when it is complete and
        fits; else, once the queued lines alone do not fit, as many as fit."""
        L = self.leading
        while self.queue:
            n = len(self.queue)
            gap = 0.0 if self.at_top else max(self.sb - self.prev_after, 0.0)
            room = self.y - self.y_bottom - gap
            if room > 0 and not (self.y - (n * L + gap) < self.y_bottom - _EPS):
                if not self.complete:
                    return  # more lines may come: cannot tell yet whether it fits here
                take = n
            else:  # split after as many lines as fit, unless that leaves only the first line here
                take = int(room / L) if room > 0 else 0
                if take <= 1 and not self.at_top:
                    self._next_frame()
                    continue
                take = max(take, 1)  # nothing fits an empty frame: ReportLab would give up; one line goes
                if self.rewraps and not self.complete:
                    return  # the rest is wrapped again as a whole: wait for all of it
            b, k = self.queue[take - 1]
            shown = take
            if take < n and b is not None and b.hard_end[k] and b.vend[k] <= b.start[k]:
                shown -= 1  # ReportLab's first part loses an empty line it ends with (its rest restarts there)
            yield from self._lines(shown, gap)
            self.y -= shown * L + gap
            self.y -= self.sa
            self.prev_after = self.sa
            self.at_top = False
            del self.queue[:take]  # the rest continues as a paragraph of its own
            if not self.queue:
                continue
            if self.rewraps:  # ReportLab wraps the rest again, a space after each of its lines
                rest = self.doc.rewrap(self.queue, self.complete)
                self.queue = [(rest, i) for i in range(len(rest))]
            elif b is None or b.hard_end[k]:  # ReportLab restarts the rest at the line break
                self.queue.insert(0, (None, -1))

    def _lines(self, take: int, gap: float) -> Iterator[PageLayout]:
        """Emit the first ``take`` queued lines at the current position."""
        geo, c = self.geo, self.doc.engine.cfg
        top = self.y - gap
        page, col = divmod(self.frame, c.columns)
        rows = self._baseline_rows(self.y - (take * self.leading + gap), take)
        placed = [(b, k, r) for (b, k), r in zip(self.queue[:take], rows.tolist())
                  if b is not None]  # an empty line left by a split takes room, shows nothing
        i = 0
        while i < len(placed):  # consecutive queued lines of one block go together
            b = placed[i][0]
            j = i
            while j < len(placed) and placed[j][0] is b and placed[j][1] == placed[i][1] + (j - i):
                j += 1
            sl = np.array([r[1] for r in placed[i:j]], dtype=np.int64)
            base_rows = np.array([r[2] for r in placed[i:j]], dtype=np.int64)
            yield from self._put(page, b, sl, np.full(j - i, col), base_rows)
            i = j
        # ReportLab's paragraph rectangle: the measure, the lines' height, border padding; painted in its
        # background colour before its lines, also over what is drawn above it (where it does not show)
        bp, s = float(c.border_padding), geo.scale
        x0 = geo.frame_x_pt(col) + FRAME_PADDING + c.left_indent - bp
        x1 = x0 + (geo.frame_w - 2 * FRAME_PADDING - (c.left_indent + c.right_indent) + 2 * bp)
        rect = (x0 * s, (self.page_h - top - bp) * s, x1 * s, (self.page_h - (top - take * self.leading) + bp) * s)
        self.pending_covers.append(rect)
        if geo.boxes:
            self.pending_boxes.append(rect)
