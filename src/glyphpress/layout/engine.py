"""Layout: text -> lines -> pages of positioned glyphs, as pure geometry (no pixels).

``LayoutEngine`` holds what belongs to one θ and is shared by every document laid out with it: fonts,
character classes, glyph ids and the page geometry. ``DocumentLayout`` is one document's pass through
the stages (its styles, its position, its paginator); ``LayoutEngine.pages`` makes one per call, so
several documents can be laid out at once, interleaved, in one thread.

The stages work on arrays, not on characters one by one: a chunk of text becomes arrays of code
points, widths, glyph ids and break opportunities (``rules``), lines are found with binary searches
(``breaking``), placed (``place``) and paginated (``paginate``). Long texts stream through in chunks of
256K characters, so memory stays flat whatever the input length. Every line and page keeps the source
character range it shows: page ranges partition the text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..config import RenderConfig
from .breaking import Lines, break_lines
from .chars import CharClasses
from .flow import CONTINUATION_MARK, Flow
from .geometry import FRAME_PADDING, geometry
from .glyphs import GlyphRegistry
from .model import LineBlock, PageLayout
from .paginate import FramePaginator, TightPaginator
from .place import place
from .rules import Chunk, ChunkState, PublishedRules, TightRules
from .slots import CodepointSlots

CHUNK_CHARS = 1 << 18
FIRST_CHUNK_CHARS = 1 << 14  # the first pages come early, later chunks are large


class LayoutEngine:
    """One θ's layout resources; reusable across documents, not thread-safe (keep one per thread)."""

    def __init__(self, cfg: RenderConfig):
        self.cfg = cfg
        self.published = cfg.layout == "glyph"
        self.slots = CodepointSlots()
        self.chars = CharClasses(self.slots)
        self.newline = cfg.newline
        self.glyphs = GlyphRegistry(cfg, self.slots, self.newline.color)
        self.fonts = self.glyphs.chains[0]
        self.mark_space = self.glyphs.space(0, "#8C8C8C")
        self.marker_space = self.glyphs.space(0, self.newline.color)  # before any text: ids stay portable
        # the newline marker of the tight layout, one glyph (the published layout draws its characters)
        self.marker_text = self.newline.text or " "
        self.marker_width = 0.0
        if self.newline.text is not None:
            self.marker_width = self.fonts.face(0).pil.getlength(self.newline.text) + cfg.px(cfg.letter_spacing)
        self.geometry = geometry(cfg, self.fonts, self.published)

    def pages(self, text: str | Flow) -> Iterator[PageLayout]:
        """Stream the pages of ``text`` (or a styled ``Flow``); memory does not grow with its length."""
        return self.document(text).pages()

    def document(self, text: str | Flow) -> DocumentLayout:
        """A document's layout: ``pages()`` streams its pages, ``missing`` counts characters without a glyph."""
        return DocumentLayout(self, text if isinstance(text, Flow) else Flow(text))


@dataclass
class StyleSpaces:
    """Per run style of a flow: its font chain, glyph space, line height, ascent and descent (px)."""

    chain: np.ndarray
    space: np.ndarray
    line_h: np.ndarray
    ascent: np.ndarray
    descent: np.ndarray


class DocumentLayout:
    """One document's layout: its styles bound to the engine's resources, its rules and its paginator."""

    def __init__(self, engine: LayoutEngine, flow: Flow):
        self.engine, self.flow = engine, flow
        g, geo = engine.glyphs, engine.geometry
        n = len(flow.style_table)
        chain = np.zeros(n, dtype=np.int64)
        space = np.zeros(n, dtype=np.int64)
        line_h, asc, desc = np.zeros(n), np.zeros(n), np.zeros(n)
        for i, st in enumerate(flow.style_table):
            chain[i] = g.chain(st.font, st.scale)
            space[i] = g.space(int(chain[i]), st.color)
            line_h[i] = geo.line_h * st.scale
            face = g.chains[int(chain[i])].face(0).pil.font
            asc[i], desc[i] = float(face.ascent), float(abs(face.descent))
        self.styles = StyleSpaces(chain, space, line_h, asc, desc)
        keys = sorted(flow.objects)
        self.objects = [flow.objects[k] for k in keys]
        self.obj_pos = np.array(keys, dtype=np.int64)
        self.missing: Counter[str] = Counter()  # characters drawn that no font has, and how often
        # the published renderer's rules apply to plain text; documents keep their own structure
        self.published = engine.published and flow.plain
        if self.published:
            self.rules = PublishedRules(engine.cfg, engine.chars, g, PublishedRules.wraps_per_char(flow.text))
        else:
            self.rules = TightRules(engine.cfg, engine.chars, g, engine.marker_width)

    # ---- measures -----------------------------------------------------------------------------
    def indent(self, first: np.ndarray | bool, pid: np.ndarray | int) -> np.ndarray:
        """px from the column's left edge to where a line's text may start."""
        c, p = self.engine.cfg, self.engine.cfg.px
        if self.published:
            return p(FRAME_PADDING + c.left_indent + np.where(first, c.first_line_indent, 0.0))
        ind = p(c.left_indent) + self.engine.geometry.pad + np.where(first, p(c.first_line_indent), 0.0)
        paras = self.flow.paragraphs
        if paras is not None:
            ind = ind + p(paras.indent[pid]) + np.where(first, p(paras.first[pid]), 0.0)
        return ind + self.engine.geometry.frame_pad

    def avail(self, first: np.ndarray | bool, pid: np.ndarray | int) -> np.ndarray:
        """Room for a line's text, in the rules' units (points for the published rules, else px)."""
        c, geo = self.engine.cfg, self.engine.geometry
        if self.published:  # ReportLab: the frame's width less its padding, then the paragraph's indents
            x1 = geo.frame_x_pt(0)
            aw = (x1 + geo.frame_w) - x1 - FRAME_PADDING - FRAME_PADDING
            first_w = aw - (c.left_indent + c.first_line_indent) - c.right_indent
            return np.where(first, first_w, aw - c.left_indent - c.right_indent)
        return geo.col_w - geo.frame_pad - c.px(c.right_indent) - geo.pad - self.indent(first, pid)

    def line_heights(self, ch: Chunk, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Height, baseline offset and descent (px) of lines starting at display positions ``s``."""
        geo = self.engine.geometry
        sty = None if self.flow.styles is None else self.flow.styles[ch.lo: ch.lo + len(ch)]
        if sty is None or not len(s):
            return (np.full(len(s), geo.line_h), np.full(len(s), geo.baseline_offset), np.full(len(s), geo.descent))
        at = np.minimum(s, len(sty) - 1)  # the tallest style on the line sets its height
        lh = np.maximum.reduceat(self.styles.line_h[sty], at)
        asc = np.maximum.reduceat(self.styles.ascent[sty], at)
        desc = np.maximum.reduceat(self.styles.descent[sty], at)
        return lh, (lh - (asc + desc)) / 2 + asc, desc

    def continuation_mark(self) -> tuple[int, float]:
        """Glyph id and advance (px) of the mark that starts a wrapped code line."""
        fonts = self.engine.fonts
        cp = np.array([ord(CONTINUATION_MARK)])
        slot = fonts.prepare_cps(cp)
        gid = int(self.engine.glyphs.gids(self.engine.mark_space, slot, cp)[0])
        return gid, float(fonts.advance.values[slot[0]])

    def place_objects(self, ch: Chunk, lines: Lines, x0, measure, scum, extra_space, extra_char, height, base):
        """Formulas and pictures make their lines taller; returns heights, baselines and (line, x, object)."""
        s, ve = lines.start, lines.vend
        a, b = np.searchsorted(self.obj_pos, [ch.lo, ch.lo + len(ch)])
        obj_at, obj_k = self.obj_pos[a:b] - ch.lo, np.arange(a, b)
        if not len(obj_at):
            return height, base, []
        line = np.searchsorted(s, obj_at, side="right") - 1
        inside = (line >= 0) & (obj_at < ve[np.maximum(line, 0)])
        obj_at, obj_k, line = obj_at[inside], obj_k[inside], line[inside]
        up_k = np.array([self.objects[k].image.height - self.objects[k].depth for k in obj_k.tolist()], dtype=float)
        down_k = np.array([self.objects[k].depth for k in obj_k.tolist()], dtype=float)
        up = np.zeros(len(s))
        down = np.zeros(len(s))
        np.maximum.at(up, line, up_k)
        np.maximum.at(down, line, down_k)
        above = np.maximum(base, up + 1)
        below = np.maximum(height - base, down + 1)
        height = np.maximum(height, above + below)
        base = above + (height - above - below) / 2
        ls_o = s[line]
        ox = (x0[line] + (measure[obj_at] - measure[ls_o]) + extra_space[line] * (scum[obj_at] - scum[ls_o])
              + extra_char[line] * (obj_at - ls_o))
        return height, base, list(zip(line.tolist(), ox.tolist(), [self.objects[k] for k in obj_k.tolist()]))

    # ---- the pass -----------------------------------------------------------------------------
    def pages(self) -> Iterator[PageLayout]:
        text = self.flow.text
        n = len(text)
        pag = (FramePaginator if self.published else TightPaginator)(self, n)
        st = ChunkState()
        size = FIRST_CHUNK_CHARS
        while st.pos < n:
            cut = self.rules.cut(text, st, size)
            ch = self.rules.chunk(self.flow, self.styles, st, cut)
            self._size_objects(ch)
            block, st = self._lines(ch, cut, st)
            yield from pag.add(block)
            size = min(CHUNK_CHARS, 2 * size)
        yield from pag.finish()

    def _size_objects(self, ch: Chunk) -> None:
        """An inline object (a formula, a picture) is as wide as its image and is no glyph."""
        a, b = np.searchsorted(self.obj_pos, [ch.lo, ch.lo + len(ch)])
        if a == b:
            return
        at = self.obj_pos[a:b] - ch.lo
        width = np.array([self.objects[k].image.width for k in range(a, b)], dtype=float)
        ch.fit[at] = ch.measure[at] = width / ch.units  # (the rules' units; often one array for all three)
        ch.draw[at] = width  # pixels
        ch.gid[at] = -1
        if ch.missing is not None:
            ch.missing[at] = False

    def _lines(self, ch: Chunk, cut, st: ChunkState) -> tuple[LineBlock, ChunkState]:
        """The chunk's lines, placed; and where the next chunk starts. A chunk that ends inside a paragraph
        gives up its last line, which the next chunk lays out again: breaking is as if there were no chunks."""
        segs = np.arange(len(ch.seg_start))
        pid_seg = st.para + ch.seg_para
        avail_first = np.broadcast_to(self.avail(ch.seg_first, pid_seg), pid_seg.shape)
        avail_rest = np.broadcast_to(self.avail(False, pid_seg), pid_seg.shape)
        lines = break_lines(ch, avail_first, avail_rest, words_stay=self.published)
        first = lines.first & ch.seg_first[lines.seg]
        # a paragraph's last line: the last one made of it here, if it ends here (its last segment may
        # make no line: an empty last source line)
        local = ch.seg_para[lines.seg]
        ends = np.zeros(int(ch.seg_para[-1]) + 1, dtype=bool)
        np.logical_or.at(ends, ch.seg_para, ch.seg_last)
        last = np.r_[local[1:] != local[:-1], True] & ends[local] if len(lines) else lines.last
        pid = pid_seg[lines.seg]
        text = self.flow.text
        done = len(ch)  # display characters laid out for good (a dropped last line comes again)
        if cut.complete:
            nxt = ChunkState(cut.hi, cut.para_end, True, int(pid_seg[segs[-1]]) + bool(ch.seg_last[-1]),
                             st.line_no + (text.count("\n", st.pos, cut.hi) if self.published else 0))
        elif len(lines) > 1:
            k = len(lines) - 1
            resume = ch.lo + int(ch.starts_to_source(lines.start[k]))
            nxt = ChunkState(resume, bool(first[k]), bool(lines.first[k]) and (lines.seg[k] > 0 or st.line_start),
                             int(pid[k]), st.line_no + (text.count("\n", st.pos, resume) if self.published else 0))
            lines, first, last, pid = lines.take(slice(0, k)), first[:k], last[:k], pid[:k]
            done = int(lines.next[-1]) if len(lines) else 0
        else:  # one line holds the whole chunk (zero-width runs): it ends here
            last = last.copy()
            last[-1] = False
            nxt = ChunkState(cut.hi, False, False, int(pid[-1]),
                             st.line_no + (text.count("\n", st.pos, cut.hi) if self.published else 0))
        if ch.missing is not None and ch.missing[:done].any():
            cps, n = np.unique(ch.cps[:done][ch.missing[:done]], return_counts=True)
            self.missing.update({chr(c): int(k) for c, k in zip(cps.tolist(), n.tolist())})
        # a line break inside a paragraph ends the line (ReportLab's word wrapping restarts a split paragraph
        # at that break; its CJK wrapping does not)
        hard_end = lines.last if self.published and not ch.per_char else False
        block = place(self, ch, lines, pid, first, last, hard_end)
        if ch.per_char:
            end = np.where(lines.last, ch.seg_end[lines.seg], lines.next)
            block.origin = (ch, lines.start, end, lines.last & (ch.seg_next[lines.seg] > end))
        return block, nxt

    def rewrap(self, rows: list[tuple[LineBlock, int]], complete: bool) -> LineBlock:
        """The rest of a paragraph split by the published layout's CJK wrapping, wrapped again as ReportLab
        does: its lines' characters with a space added after every line but the last (unless one ends it
        or a line break follows), broken again from the top."""
        c, chain0 = self.engine.cfg, self.engine.fonts
        space_slot = chain0.prepare_cps(np.array([32]))
        space = float(chain0.published.values[space_slot[0]])
        space_flags = self.engine.chars.lookup(space_slot, np.array([32]))
        parts, brk_at = [], []
        n = 0
        for i, (b, k) in enumerate(rows):
            ch, dstart, dend, broken = b.origin
            a, z = int(dstart[k]), int(dend[k])
            sl = slice(a, z + 1) if broken[k] else slice(a, z)  # the line break itself, when there is one
            src = ch.lo + (ch.src[sl] if ch.src is not None else np.arange(sl.start, sl.stop))
            parts.append((ch.cps[sl], ch.flags[sl], ch.measure[sl], ch.draw[sl], ch.gid[sl], ch.blank[sl], src,
                          np.zeros(len(src), bool)))
            n += len(src)
            if broken[k]:
                brk_at.append(n - 1)
            elif i < len(rows) - 1 and not (z > a and ch.blank[z - 1]):  # the added space stands for nothing
                after = src[-1:] + 1 if len(src) else np.array([int(b.start[k])])
                parts.append((np.array([32]), space_flags, np.array([space]), np.array([space * c.dpi / 72.0]),
                              np.array([-1], dtype=np.int32), np.array([True]), after, np.array([True])))
                n += 1
        cps, flags, measure, draw, gid, blank, src, added = (np.concatenate(col) for col in zip(*parts))
        ends = np.r_[0, np.maximum.accumulate(np.where(added, 0, src + 1))]  # after the last real character
        b = np.array(brk_at, dtype=np.int64)
        seg_start, seg_end = np.r_[0, b + 1], np.r_[b, n]
        if len(b) and seg_start[-1] == n:
            seg_start, seg_end = seg_start[:-1], seg_end[:-1]
        seg_next = np.where(seg_end < n, seg_end + 1, n)
        k = len(seg_start)
        last_seg = np.zeros(k, dtype=bool)
        last_seg[-1] = complete
        ch2 = Chunk(0, cps, src, flags, measure, measure, draw, gid, blank, np.zeros(n + 1, bool),
                    np.zeros(n, bool), seg_start, seg_end, seg_next, np.zeros(k, dtype=np.int64),
                    np.zeros(k, bool), last_seg, np.zeros(k, bool), int(ends[-1]), units=c.dpi / 72.0,
                    per_char=True, src_ends=ends)
        pid = int(rows[0][0].para_id[rows[0][1]])
        avail = np.broadcast_to(self.avail(False, pid), (k,))
        lines = break_lines(ch2, avail, avail, words_stay=True)
        last = np.zeros(len(lines), dtype=bool)
        last[-1] = complete
        block = place(self, ch2, lines, np.full(len(lines), pid), np.zeros(len(lines), bool), last)
        end = np.where(lines.last, ch2.seg_end[lines.seg], lines.next)
        block.origin = (ch2, lines.start, end, lines.last & (ch2.seg_next[lines.seg] > end))
        return block
