"""Raster: page geometry -> pixels.

Glyphs are rasterised once per (glyph, quarter-pixel phase) by FreeType into an atlas whose
columns are indexed like a bitmap font. A page's lines are drawn with one gather: each line's
pixel columns map to atlas columns, and where the anti-aliased edges of neighbouring glyphs share a
column, the column lost in the map is merged back in. Lines on one grid are placed with a few
strided views. Ink meets ink as θ's layout says: ``max`` (tight) or poppler's "over" (glyph).
Fractional pen positions keep letter spacing even at 9 pt / 72 dpi. Colours, shaped runs and inline
objects are drawn here too.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided
from PIL import Image, ImageColor, ImageDraw, ImageFont, features

from ..layout.engine import LayoutEngine
from ..layout.glyphs import MARKER_GID
from ..layout.model import PageLayout
from ..layout.place import ragged_arange
from .crop import MIN_SIDE, published_crop
from .glyphs import SUBPIXEL, PillowGlyphs, PopplerGlyphs

try:  # the native pixel loops (setup.py builds them where a C compiler is found)
    from . import native
except ImportError:  # NumPy draws the same pixels
    native = None


def _rgb(color: str) -> tuple[int, int, int]:
    return ImageColor.getrgb(color)[:3]


def _div255(v: np.ndarray) -> np.ndarray:
    """v / 255 rounded as poppler's Splash rounds it."""
    return (v + (v >> 8) + 0x80) >> 8


def _lookup(table: np.ndarray, cov: np.ndarray, own: np.ndarray | None, w: int, h: int,
            out: np.ndarray) -> np.ndarray:
    """The first ``h`` rows and ``w`` columns of a page through ``table`` (256 entries a colour), indexed by
    each pixel's colour (``own``; None: colour 0) and coverage: a flat array of ``table``'s items (in
    ``out``, ``w * h`` of them, where the native loops do it)."""
    if native is not None:
        native.lookup(out, cov, own, table, w, h, cov.shape[1])
        return out
    index = cov[:h, :w].reshape(-1)
    if own is not None:
        index = (own[:h, :w].astype(np.uint16) << 8).reshape(-1) | index
    return table.take(index)


def _over(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Coverage of two glyphs drawn one over the other, as poppler composites them."""
    return (255 - _div255((255 - a.astype(np.uint16)) * (255 - b.astype(np.uint16)))).astype(np.uint8)


class Conflicts:
    """Pixels where inks of different colours meet on a page, with each colour's share of each (the most
    of it, where glyphs of one colour meet too)."""

    def __init__(self, marked: np.ndarray):
        self.marked = marked  # the page's pixels that are conflicts (1)
        self.width = marked.shape[1]
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, pix: np.ndarray, colour: np.ndarray, value: np.ndarray) -> None:
        if len(pix):
            self._parts.append((pix.astype(np.int64), colour.astype(np.int64), value.astype(np.uint8)))

    def replace(self, region: tuple[int, int, int, int], other: Conflicts) -> None:
        """Within rows r0-r1 and columns c0-c1, the conflicts of ``other`` instead of these."""
        r0, r1, c0, c1 = region

        def outside(pix: np.ndarray) -> np.ndarray:
            y, x = np.divmod(pix, self.width)
            return (y < r0) | (y >= r1) | (x < c0) | (x >= c1)

        self._parts = [tuple(a[keep] for a in part) for part in self._parts for keep in [outside(part[0])]]
        self._parts += [tuple(a[~keep] for a in part) for part in other._parts for keep in [outside(part[0])]]

    def shares(self, n_colours: int) -> tuple[np.ndarray, np.ndarray]:
        """(pixels, their coverage per colour, shape (pixels, n_colours))."""
        if not self._parts:
            return np.zeros(0, dtype=np.int64), np.zeros((0, n_colours), dtype=np.uint8)
        pix, colour, value = (np.concatenate(a) for a in zip(*self._parts))
        pixels, at = np.unique(pix, return_inverse=True)
        out = np.zeros((len(pixels), n_colours), dtype=np.uint8)
        np.maximum.at(out, (at, colour), value)
        return pixels, out


class Rasterizer:
    """Draws the pages of one LayoutEngine (same θ, same fonts)."""

    def __init__(self, eng: LayoutEngine):
        self.eng = eng
        self.cfg = eng.cfg
        # transposed atlas: one row of bytes per pixel column, gathered as opaque items. The first
        # `height` bytes are the rows where some glyph has ink (they grow when a glyph reaches further);
        # items are padded to a multiple of 8 bytes, which numpy gathers several times faster
        self.baseline_row, self.height = 0, 1
        self.atlas = np.zeros((1024, 8), dtype=np.uint8)
        self.atlas_used = 1  # column 0 stays blank
        self.entry_col = np.full(1024, -1, dtype=np.int64)  # per shape*SUBPIXEL+phase (a glyph in any colour)
        self.entry_off = np.zeros(1024, dtype=np.int64)
        self.entry_w = np.zeros(1024, dtype=np.int64)
        self.fg = _rgb(self.cfg.font_color)
        self.bg = _rgb(self.cfg.page_bg_color)
        self.border = _rgb(self.cfg.para_border_color)
        # pen positions snap to quarter pixels: rounded (tight), or down as poppler does (published)
        self.snap = np.floor if eng.published else np.rint
        self._merge = _over if eng.published else np.maximum  # glyphs whose ink overlaps
        self._raqm = features.check_feature("raqm")
        self.glyphs = PopplerGlyphs() if eng.published else PillowGlyphs()
        self._shaping_fonts: dict[tuple[str, bool], ImageFont.FreeTypeFont] = {}
        self._buffers: dict[str, np.ndarray] = {}
        self._tables: dict[tuple, np.ndarray] = {}  # a page's colours -> its composite look-up table

    # ---- atlas ------------------------------------------------------------------------------
    def _grow_rows(self, top: int, bottom: int) -> None:
        """Make room for ink from ``top`` to ``bottom`` (rows relative to the baseline row)."""
        above, below = max(0, -(self.baseline_row + top)), max(0, self.baseline_row + bottom + 1 - self.height)
        if above or below:
            h = self.height + above + below
            atlas = np.zeros((self.atlas.shape[0], -(-h // 8) * 8), dtype=np.uint8)
            atlas[:, above: above + self.height] = self.atlas[:, :self.height]
            self.atlas, self.baseline_row, self.height = atlas, self.baseline_row + above, h

    def _render_entries(self, keys: np.ndarray) -> None:
        if not len(keys):
            return
        eng = self.eng
        need = int(keys.max()) + 1
        if need > len(self.entry_col):
            size = max(need, 2 * len(self.entry_col))
            for name in ("entry_col", "entry_off", "entry_w"):
                arr = getattr(self, name)
                grown = np.full(size, -1 if name == "entry_col" else 0, dtype=np.int64)
                grown[: len(arr)] = arr
                setattr(self, name, grown)
        todo = np.unique(keys[self.entry_col[keys] < 0])
        shapes = eng.glyphs.per_gid("shape_of_gid")
        for key in todo.tolist():
            shape, phase = divmod(key, SUBPIXEL)
            gid = self._gid_of_shape(shape, shapes)
            if gid == MARKER_GID:
                face, text = eng.fonts.face(0), eng.marker_text
            else:
                cp = eng.glyphs.cp_of_gid[gid]
                chain = eng.glyphs.chains[eng.glyphs.chain_of_gid[gid]]
                face, text = chain.face(int(chain.face_of[np.array([cp])][0])), chr(cp)
            bmp, pad, base = self.glyphs.bitmap(face, text, phase)
            cols = np.flatnonzero(bmp.any(axis=0))
            if len(cols) == 0:
                self.entry_col[key], self.entry_off[key], self.entry_w[key] = 0, 0, 0
                continue
            rows = np.flatnonzero(bmp.any(axis=1))
            r0, r1 = int(rows[0]), int(rows[-1]) + 1
            self._grow_rows(r0 - base, r1 - 1 - base)
            lo, hi = int(cols[0]), int(cols[-1]) + 1
            w = hi - lo
            if self.atlas_used + w > self.atlas.shape[0]:
                self.atlas = np.pad(self.atlas, ((0, max(w, self.atlas.shape[0])), (0, 0)))
            top = self.baseline_row + r0 - base
            self.atlas[self.atlas_used: self.atlas_used + w, top: top + r1 - r0] = bmp[r0:r1, lo:hi].T
            self.entry_col[key], self.entry_off[key], self.entry_w[key] = self.atlas_used, lo - pad, w
            self.atlas_used += w

    @staticmethod
    def _gid_of_shape(shape: int, shapes: np.ndarray) -> int:
        """A glyph id with this shape (any colour draws the same bitmap)."""
        return int(np.flatnonzero(shapes == shape)[0])

    def _scratch(self, name: str, n: int, dtype) -> np.ndarray:
        """A working buffer kept from page to page (fresh memory costs a page fault per 4 KB)."""
        buf = self._buffers.get(name)
        if buf is None or len(buf) < n:
            buf = self._buffers[name] = np.empty(max(n, 2 * len(buf) if buf is not None else n), dtype=dtype)
        return buf[:n]

    # ---- coverage ---------------------------------------------------------------------------
    def _entries(self, page: PageLayout, only: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Each glyph's pixel column and atlas entry (its shape at its quarter-pixel phase), the entries
        rendered into the atlas where new (the atlas may grow taller)."""
        gx, gid = page.gx, page.gid.astype(np.int64)
        if only is not None:
            gx, gid = gx[only], gid[only]
        ix = np.floor(gx).astype(np.int64)
        phase = self.snap((gx - ix) * SUBPIXEL).astype(np.int64)
        carry = phase == SUBPIXEL
        ix[carry] += 1
        phase[carry] = 0
        keys = self.eng.glyphs.per_gid("shape_of_gid")[gid] * SUBPIXEL + phase
        self._render_entries(keys)
        return ix, keys

    def _coverage(self, page: PageLayout, cov: np.ndarray, colour: np.ndarray | None = None,
                  own: np.ndarray | None = None, conflicts: Conflicts | None = None,
                  only: np.ndarray | None = None) -> None:
        """Draw the glyphs of ``page`` (those selected by ``only``) into the coverage image ``cov`` (glyphs
        combine by ``_merge``). With several colours (``colour``: each glyph's index), ``own`` gets each
        pixel's colour and ``conflicts`` each colour's share where colours meet."""
        gline = page.gline if only is None else page.gline[only]
        if not len(gline):
            return
        ix, keys = self._entries(page, only)
        w = self.entry_w[keys]
        keep = w > 0
        c0, w, a0, gline = (ix + self.entry_off[keys])[keep], w[keep], self.entry_col[keys][keep], gline[keep]
        if colour is not None:
            colour = colour[keep]
        if not len(c0) or (c0 + w).max() <= 0:
            return
        H, W = cov.shape
        h = self.height
        step = np.diff(gline)
        if (step >= 0).all():  # glyphs come line by line (always, from layout): no sort needed
            starts = np.r_[0, np.flatnonzero(step) + 1]
            lines, row_of = gline[starts], np.cumsum(np.r_[0, step != 0])
        else:
            lines, row_of = np.unique(gline, return_inverse=True)
        y0 = page.line_base[lines] - self.baseline_row  # top row of each line's strip
        # lines on one grid of pitch p (plain text, any number of columns) become rows of "slots":
        # a slot holds every glyph whose line has that top row, and strided views draw all slots at once
        lo_y = int(y0.min())
        pitch = int(np.gcd.reduce(y0 - lo_y)) or h  # 0: every line on one row
        k = -(-h // pitch)  # slots j, j + k, j + 2k... never overlap
        n_slots = (int(y0.max()) - lo_y) // pitch + 1
        grid = n_slots <= 2 * len(lines) + 8 and lo_y >= 0 and int(y0.max()) + h <= H
        if grid:
            row_of = (y0[row_of] - lo_y) // pitch
            n_rows = n_slots
        else:
            n_rows = len(lines)
        width = min(W, int((c0 + w).max()))
        # one gather draws every glyph; where anti-aliased edges of neighbours overlap, the later
        # glyph wins the column in the map, and the earlier glyph's lost columns are merged back in
        cols = ragged_arange(c0, w)
        src = cols + np.repeat(a0 - c0, w)
        rows = np.repeat(row_of, w)
        ink_colour = None if colour is None else np.repeat(colour, w)
        ok = (cols >= 0) & (cols < width)
        if not ok.all():
            cols, src, rows = cols[ok], src[ok], rows[ok]
            ink_colour = None if ink_colour is None else ink_colour[ok]
        flat = rows * width + cols
        colmap = self._scratch("colmap", n_rows * width, np.int32)
        colmap.fill(0)
        colmap[flat] = src
        stored = self.atlas.shape[1]  # h, padded
        item = np.dtype((np.void, stored))
        items = self.atlas.view(item).reshape(-1)
        strips = items.take(colmap, out=self._scratch("strips", n_rows * width * stored, np.uint8).view(item),
                            mode="clip")
        strips = strips.view(np.uint8).reshape(n_rows, width, stored)
        lost = colmap[flat] != src
        if ink_colour is None:
            if lost.any():
                r, c, a = rows[lost], cols[lost], src[lost]
                strips[r, c] = self._merge(strips[r, c], self.atlas[a])
            self._put_strips(strips, cov, y0, grid, lo_y, pitch, n_rows, width)
            return
        # several colours: one coverage image as for one colour, and beside it the colour each pixel's ink
        # has (the colour of the glyph that won its column); where inks of different colours meet (a column
        # lost to a glyph of another colour, lines whose strips overlap), each colour's share is kept apart
        # in ``Conflicts`` and blended in turn later, as separate images per colour would be
        owner = self._scratch("owner", n_rows * width, np.uint8)
        owner.fill(0)
        owner[flat] = ink_colour
        mixed = lost & (ink_colour != owner[flat])  # lost to a glyph of another colour
        same = lost & ~mixed
        if same.any():
            r, c, a = rows[same], cols[same], src[same]
            strips[r, c] = self._merge(strips[r, c], self.atlas[a])
        owner = owner.reshape(n_rows, width)
        mark = conflicts.marked
        if native is not None:  # one pass over the strips' ink, in the order the views below take them
            if grid:
                at = np.concatenate([np.arange(j, n_rows, k) for j in range(min(k, n_rows))])
                order = np.stack([at, lo_y + at * pitch], axis=1)
            else:
                order = np.stack([np.arange(n_rows), y0], axis=1)
            made = np.frombuffer(native.place(cov, own, mark, W, strips, owner, order.astype(np.int64), width,
                                              stored, h, self._merge is not np.maximum), dtype=np.int64)
            made = made.reshape(-1, 3)
            conflicts.add(made[:, 0], made[:, 1], made[:, 2])
        elif grid:
            # the page is empty before the first group of slots, and in each slot, rows h - pitch to pitch are
            # reached by no other slot: there ink and colour are copied; elsewhere ink may meet ink
            alone = (h - pitch, pitch) if h - pitch < pitch else (0, 0)
            for j in range(min(k, n_rows)):
                slots = len(range(j, n_rows, k))
                shape, strides = (slots, h, width), (k * pitch * W, W, 1)
                dst, dst_own, dst_mark = (as_strided(img[lo_y + j * pitch:], shape=shape, strides=strides)
                                          for img in (cov, own, mark))
                top = lo_y + j * pitch + np.arange(slots) * k * pitch
                ink, ink_own = strips[j::k, :, :h].transpose(0, 2, 1), owner[j::k][:, None, :]
                lo, hi = (0, h) if j == 0 else alone
                if hi > lo:
                    np.copyto(dst[:, lo:hi], ink[:, lo:hi])
                    np.copyto(dst_own[:, lo:hi], np.broadcast_to(ink_own, (slots, hi - lo, width)))
                if j and hi > lo:  # two slots reach the rows above lo and below hi: the bands above lie every
                    # k * pitch rows, and so do those below, one view takes each
                    hb = h - pitch
                    shape = (slots, hb, width)
                    for first in (0, pitch):
                        bands = [as_strided(img[lo_y + j * pitch + first:], shape=shape, strides=strides)
                                 for img in (cov, own, mark)]
                        self._put_colours(*bands, ink[:, first:first + hb], ink_own, top + first, conflicts)
                elif j:
                    self._put_colours(dst, dst_own, dst_mark, ink, ink_own, top, conflicts)
        else:
            for r, y in enumerate(y0.tolist()):
                a, b = max(0, -y), min(h, H - y)
                if b > a:
                    views = [img[y + a: y + b, :width][None] for img in (cov, own, mark)]
                    self._put_colours(*views, strips[r, :, a:b].T[None], owner[r][None, None, :], np.array([y + a]),
                                      conflicts)
        if mixed.any():
            r, c, a, kk = rows[mixed], cols[mixed], src[mixed], ink_colour[mixed]
            top = (lo_y + r * pitch) if grid else y0[r]
            yy = top[:, None] + np.arange(h)
            vals = self.atlas[a, :h]
            ok = (vals > 0) & (yy >= 0) & (yy < H)
            pix = (yy * W + c[:, None])[ok]
            fresh = mark.reshape(-1)[pix] == 0
            conflicts.add(pix[fresh], own.reshape(-1)[pix[fresh]], cov.reshape(-1)[pix[fresh]])  # the ink already there
            mark.reshape(-1)[pix] = 1
            conflicts.add(pix, np.broadcast_to(kk[:, None], yy.shape)[ok], vals[ok])

    def _put_colours(self, dst, dst_own, dst_mark, src, src_own, top: np.ndarray, conflicts: Conflicts) -> None:
        """Max ink into the coverage image and set its colour. Where ink meets ink of another colour (or a
        pixel where colours met already), each one's share goes to ``conflicts``."""
        meet = np.minimum(dst, src)
        if meet.any():  # ink meets ink (rare: lines whose ascenders and descenders touch)
            s, y, x = np.nonzero(meet)
            src_owner = np.broadcast_to(src_own, src.shape)[s, y, x]
            other = (dst_own[s, y, x] != src_owner) | (dst_mark[s, y, x] > 0)
            s, y, x = s[other], y[other], x[other]
            pix = (top[s] + y) * conflicts.width + x
            fresh = dst_mark[s, y, x] == 0
            conflicts.add(pix[fresh], dst_own[s, y, x][fresh], dst[s, y, x][fresh])  # the ink that was there
            conflicts.add(pix, np.broadcast_to(src_own, src.shape)[s, y, x], src[s, y, x])
            dst_mark[s, y, x] = 1
        if self._merge is np.maximum:
            np.maximum(dst, src, out=dst)
        else:
            dst[...] = self._merge(dst, src)
        np.copyto(dst_own, np.broadcast_to(src_own, src.shape), where=src > 0)

    def _cover_bands(self, page: PageLayout) -> list[tuple[int, int, int, int, np.ndarray]]:
        """Where a paragraph's rectangle (painted before its lines, see ``PageLayout.covers``) covers ink of
        lines above it: (first row, end row, first column, end column, the lines at and below it)."""
        if not page.covers or not len(page.line_base):
            return []
        H, W = page.size
        base = page.line_base
        top = base - self.baseline_row  # each line's strip: top to top + height
        out = []
        for x0, y0, x1, y1 in page.covers:
            r0, r1 = max(0, math.floor(y0 + 0.5)), min(H, math.floor(y1 + 0.5))
            above = base < y0
            if not above.any():
                continue
            end = min(r1, int((top[above] + self.height).max()))
            if end > r0:
                below = np.flatnonzero(~above & (top < end))
                out.append((r0, end, max(0, math.floor(x0 + 0.5)), min(W, math.floor(x1 + 0.5)), below))
        return out

    def _cover(self, page: PageLayout, cov: np.ndarray, bands: list, only: np.ndarray | None = None,
               colour: np.ndarray | None = None, own: np.ndarray | None = None,
               conflicts: Conflicts | None = None) -> None:
        """Paint each band over with the page's paper, then draw again only the lines at and below it (with
        ``colour``: each pixel's colour in ``own`` and where colours meet in ``conflicts`` too)."""
        H, W = cov.shape
        for r0, r1, c0, c1, below in bands:
            mine = np.isin(page.gline, below)
            if only is not None:
                mine &= only
            tops = page.line_base[below] - self.baseline_row  # the band and the rows those lines reach: emptied
            lo, hi = max(0, min([r0, *tops.tolist()])), min(H, max([r1, *(tops + self.height).tolist()]))
            redo = self._scratch("cover", H * W, np.uint8).reshape(H, W)
            redo[lo:hi].fill(0)
            if colour is None:
                self._coverage(page, redo, only=mine)
                cov[r0:r1, c0:c1] = redo[r0:r1, c0:c1]
                continue
            redo_own = self._scratch("cover_own", H * W, np.uint8).reshape(H, W)
            redo_own[lo:hi].fill(0)
            redo_mark = self._scratch("cover_marked", H * W, np.uint8).reshape(H, W)
            redo_mark[lo:hi].fill(0)
            redo_conflicts = Conflicts(redo_mark)
            self._coverage(page, redo, colour[mine], redo_own, redo_conflicts, only=mine)
            for img, new in ((cov, redo), (own, redo_own), (conflicts.marked, redo_mark)):
                img[r0:r1, c0:c1] = new[r0:r1, c0:c1]
            conflicts.replace((r0, r1, c0, c1), redo_conflicts)

    def _put_strips(self, strips: np.ndarray, cov: np.ndarray, y0: np.ndarray, grid: bool, lo_y: int, pitch: int,
                    n_rows: int, width: int) -> None:
        """Max the line strips into the page's coverage image at their rows."""
        H, W = cov.shape
        h = self.height
        if grid:  # slots j, j+k, j+2k... do not overlap when k*pitch >= h: one strided operation per j
            k = -(-h // pitch)
            # the first group meets an empty page, and rows lo to hi of a slot no other slot reaches: there max
            # is a copy; elsewhere ink may meet ink, merged as θ's layout merges it (poppler's "over")
            alone = (h - pitch, pitch) if h - pitch < pitch else (0, 0)
            for j in range(min(k, n_rows)):
                dst = as_strided(cov[lo_y + j * pitch:], shape=(len(range(j, n_rows, k)), h, width),
                                 strides=(k * pitch * W, W, 1))
                src = strips[j::k, :, :h].transpose(0, 2, 1)
                if not j or self._merge is np.maximum:
                    np.maximum(dst, src, out=dst)
                    continue
                lo, hi = alone
                np.maximum(dst[:, lo:hi], src[:, lo:hi], out=dst[:, lo:hi])
                for r0, r1 in ((0, lo), (hi, h)) if hi > lo else ((0, h),):
                    if r1 > r0:
                        dst[:, r0:r1] = self._merge(dst[:, r0:r1], src[:, r0:r1])
            return
        for r, y in enumerate(y0.tolist()):
            a, b = max(0, -y), min(h, H - y)
            if b > a:
                dst = cov[y + a: y + b, :width]
                dst[:] = self._merge(dst, strips[r, :, a:b].T)

    def _shaped(self, page: PageLayout, cov: np.ndarray) -> None:
        """Lines in scripts that need shaping (Arabic, Hebrew, Indic...): FreeType + raqm, a run per face."""
        for run in page.shaped:
            fonts = self.eng.glyphs.chains[run.chain]
            spec, size = fonts.specs[run.face], fonts.size_px
            img = Image.fromarray(cov)
            try:
                ImageDraw.Draw(img).text((run.x, run.baseline), run.text, fill=255,
                                         font=self._shaping_font(spec, size, self._raqm), anchor="ls")
            except RuntimeError:  # raqm gives up on some sequences (unassigned code points): unshaped then
                img = Image.fromarray(cov)
                ImageDraw.Draw(img).text((run.x, run.baseline), run.text, fill=255,
                                         font=self._shaping_font(spec, size, False), anchor="ls")
            cov[:] = np.maximum(cov, np.asarray(img))

    def _shaping_font(self, spec: str, size: float, raqm: bool) -> ImageFont.FreeTypeFont:
        font = self._shaping_fonts.get((spec, size, raqm))
        if font is None:
            path, _, index = spec.partition("#")
            engine = ImageFont.Layout.RAQM if raqm else ImageFont.Layout.BASIC
            font = ImageFont.truetype(path, size=size, index=int(index or 0), layout_engine=engine)
            self._shaping_fonts[(spec, size, raqm)] = font
        return font

    # ---- page -------------------------------------------------------------------------------
    def size(self, page: PageLayout) -> tuple[int, int] | None:
        """The final image size when layout alone decides it (the tight layout); None when the pixels do
        (the published layout crops to the ink it finds)."""
        if self.eng.published and (self.cfg.auto_crop_width or (self.cfg.auto_crop_last_page and page.last)):
            return None
        w, h = self._crop_size(page)
        return self._scaled(w), h

    def _crop_size(self, page: PageLayout) -> tuple[int, int]:
        """Pixel size after the tight layout's auto-crop (from line extents), before horizontal scale."""
        c = self.cfg
        w, h = page.size
        if self.eng.published:
            return w, h
        if c.auto_crop_width and len(page.line_right):
            w = min(w, max(MIN_SIDE, int(math.ceil(page.line_right.max() + self.eng.geometry.margin_x))))
        if c.auto_crop_last_page and page.last:
            h = min(h, max(MIN_SIDE, int(math.ceil(page.bottom + self.eng.geometry.margin_y))))
        return w, h

    def _scaled(self, w: int) -> int:
        s = self.cfg.horizontal_scale
        if s == 1.0:
            return w
        return int(w * s) if self.eng.published else max(MIN_SIDE, round(w * s))

    def draw(self, page: PageLayout) -> Image.Image:
        """The page image, cropped and scaled as θ says."""
        pixels = self.pixels(page)
        return pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)

    def pixels(self, page: PageLayout) -> np.ndarray | Image.Image:
        """The page as an ``L`` array where it is black on white (most pages), else as an image."""
        W, H = page.size
        colour = self.eng.glyphs.per_gid("colour_of_gid")[page.gid]
        if not len(colour):
            colours = []
        elif colour.min() == colour.max():  # one colour (most pages)
            colours = [int(colour[0])]
        else:  # palette indices are small: counted, not sorted
            colours = np.flatnonzero(np.bincount(colour)).tolist()
        if not colours or ((page.shaped or page.objects) and 0 not in colours):
            colours = [0, *colours]
        cov = self._scratch("cov", H * W, np.uint8).reshape(H, W)
        cov.fill(0)
        own = conflicts = None
        if len(colours) > 1:
            own = self._scratch("own", H * W, np.uint8).reshape(H, W)
            own.fill(0)
            marked = self._scratch("marked", H * W, np.uint8).reshape(H, W)
            marked.fill(0)
            conflicts = Conflicts(marked)
        # the rows a paragraph's rectangle covers depend on how far glyphs reach: reckoned once the page's
        # glyphs are in the atlas
        if len(colours) == 1:
            self._coverage(page, cov)
            self._cover(page, cov, self._cover_bands(page))
            if page.shaped:
                self._shaped(page, cov)
            if page.objects:
                self._ink_objects(page, cov)
        elif not (page.shaped or page.objects):  # each glyph's colour beside its ink
            index = np.zeros(int(max(colours)) + 1, dtype=np.uint8)
            index[colours] = np.arange(len(colours))
            self._coverage(page, cov, index[colour], own, conflicts)
            self._cover(page, cov, self._cover_bands(page), colour=index[colour], own=own, conflicts=conflicts)
        else:  # shaped lines and objects draw over the text colour's own ink: an image per colour first
            if page.covers:
                self._entries(page)
            bands = self._cover_bands(page)
            layers = []
            for i, ci in enumerate(colours):
                layer = self._scratch(f"layer{i}", H * W, np.uint8).reshape(H, W)
                layer.fill(0)
                self._coverage(page, layer, only=colour == ci)
                self._cover(page, layer, bands, colour == ci)
                if ci == 0:
                    if page.shaped:
                        self._shaped(page, layer)
                    if page.objects:
                        self._ink_objects(page, layer)
                layers.append(layer)
            for i, layer in enumerate(layers):
                self._put_colours(cov[None], own[None], conflicts.marked[None], layer[None],
                                  np.full((1, 1, 1), i, dtype=np.uint8), np.zeros(1, dtype=np.int64), conflicts)
        rgbs = [_rgb(self.eng.glyphs.palette[ci]) for ci in colours]
        pictures = [o for o in page.objects if o[2].image.mode != "L"]
        plain = (len(rgbs) == 1 and rgbs[0] == (0, 0, 0) and self.bg == (255, 255, 255) and not page.boxes
                 and not pictures)
        published = self.eng.published
        if not published:
            cw, ch = self._crop_size(page)
            size = (self._scaled(cw), ch)
            if plain and size == (cw, ch):  # black on white: the ink inverted and cropped in one pass
                return np.subtract(255, cov[:ch, :cw], dtype=np.uint8)
        if plain:
            img = np.subtract(255, cov, dtype=np.uint8) if published else Image.fromarray(255 - cov)
        else:  # (cropped first where nothing is pasted after)
            img = self._composite(page, cov, own, rgbs, conflicts, None if published or pictures else (cw, ch))
        for x, base, obj in pictures:
            img = img.convert("RGB") if img.mode != "RGB" else img
            img.paste(obj.image.convert("RGB"), (round(x), base + obj.depth - obj.image.height))
        if published:
            return published_crop(img, self.cfg, page.last)
        if img.size != (cw, ch):
            img = img.crop((0, 0, cw, ch))
        return img if size == (cw, ch) else img.resize(size, Image.Resampling.LANCZOS)

    def _ink_objects(self, page: PageLayout, cov: np.ndarray) -> None:
        """Formulas and other ``L`` objects are ink: max them into the text-colour coverage."""
        H, W = cov.shape
        for x, base, obj in page.objects:
            if obj.image.mode != "L":
                continue
            a = np.asarray(obj.image)
            x0, y0 = round(x), base + obj.depth - a.shape[0]
            xa, ya = max(0, -x0), max(0, -y0)
            xb, yb = min(a.shape[1], W - x0), min(a.shape[0], H - y0)
            if xb > xa and yb > ya:
                dst = cov[y0 + ya: y0 + yb, x0 + xa: x0 + xb]
                np.maximum(dst, a[ya:yb, xa:xb], out=dst)

    def _composite(self, page: PageLayout, cov: np.ndarray, own: np.ndarray | None, rgbs: list[tuple[int, int, int]],
                   conflicts: Conflicts | None, crop: tuple[int, int] | None = None) -> Image.Image:
        """Ink in its colours over the page (and its paragraph boxes): each colour blended in turn, as if
        each had its own coverage image; a pixel without ink keeps what is there. With ``crop`` (w, h), the
        image may come out cropped to it already."""
        c = self.cfg
        W, H = page.size
        para_bg = _rgb(c.para_bg_color)
        edges = [self.border] if c.border_width > 0 else []
        gray = all(r == g == b for r, g, b in [self.bg, para_bg, *edges] + rgbs)
        channels = 1 if gray else 3
        fill = self.eng.geometry.fill
        colours = np.array(rgbs, dtype=np.uint16)[:, :channels]
        blend = _div255 if self.eng.published else (lambda v: (v + 127) // 255)
        if not page.boxes and (fill == (W, H) or self.bg == (255, 255, 255)):
            # one page colour under the ink: every pixel is a table look-up by (colour, coverage)
            bg = np.array(self.bg[:channels], dtype=np.uint16)
            table = self._tables.get(tuple(rgbs))
            if table is None:  # (colour, coverage) -> pixel; the same few palettes come back page after page
                levels = np.arange(256, dtype=np.uint16)[None, :, None]
                table = blend(bg * (255 - levels) + colours[:, None, :] * levels).astype(np.uint8)  # (colour, a, ch)
                if not gray:  # four bytes a pixel, as Pillow keeps RGB
                    quad = np.zeros((table.shape[0] * 256, 4), dtype=np.uint8)
                    quad[:, :3] = table.reshape(-1, 3)
                    table = quad.view(np.uint32)
                if len(self._tables) >= 256:
                    self._tables.clear()
                table = self._tables[tuple(rgbs)] = table.reshape(-1)
            W, H = crop or (W, H)
            out = _lookup(table, cov, own, W, H, self._scratch(f"page{table.dtype}", W * H, table.dtype))
            if conflicts is not None:
                pix, shares = conflicts.shares(len(rgbs))
                if crop is not None:  # pixel numbers on the cropped page
                    y, x = np.divmod(pix, conflicts.width)
                    inside = (y < H) & (x < W)
                    pix, shares = (y * W + x)[inside], shares[inside]
                mix = np.broadcast_to(bg, (len(pix), channels))
                for i in np.flatnonzero(shares.any(axis=0)).tolist():  # a colour with no share leaves mix be
                    a = shares[:, i].astype(np.uint16)[:, None]
                    mix = blend(mix * (255 - a) + colours[i] * a)
                if gray:
                    out[pix] = mix[:, 0]
                else:
                    q = np.zeros((len(pix), 4), dtype=np.uint8)
                    q[:, :3] = mix
                    out[pix] = q.view(np.uint32).reshape(-1)
            # copied into the image: ``out`` may be a buffer the next page is drawn into
            img = Image.new("L" if gray else "RGB", (W, H), None)  # not filled first: every pixel is written next
            img.frombytes(out, "raw", "L" if gray else "RGBX")
            return img
        canvas = Image.new("RGB", (W, H), (255, 255, 255) if fill != (W, H) else self.bg)
        if fill != (W, H):  # the page colour stops short of the bitmap's last row or column: paper shows
            canvas.paste(self.bg, (0, 0, *fill))
        if page.boxes:
            d = ImageDraw.Draw(canvas)
            bw = c.px(c.border_width)
            for x0, y0, x1, y1 in page.boxes:
                d.rectangle((x0, y0, x1, y1), fill=para_bg)
                if bw > 0:
                    d.rectangle((x0, y0, x1, y1), outline=self.border, width=max(1, round(bw)))
        out = np.array(canvas.convert("L") if gray else canvas).reshape(H, W, channels)
        flat = out.reshape(H * W, channels)
        ink = cov > 0
        if conflicts is not None:
            ink &= conflicts.marked == 0
        at = np.flatnonzero(ink)
        a = cov.reshape(-1)[at].astype(np.uint16)[:, None]
        rgb = colours[own.reshape(-1)[at]] if own is not None else colours[0]
        flat[at] = blend(flat[at].astype(np.uint16) * (255 - a) + rgb * a)
        if conflicts is not None:  # where colours meet: each colour in turn
            pix, shares = conflicts.shares(len(rgbs))
            mix = flat[pix].astype(np.uint16)
            for i in range(len(rgbs)):
                a = shares[:, i].astype(np.uint16)[:, None]
                mix = blend(mix * (255 - a) + colours[i] * a)
            flat[pix] = mix
        return Image.fromarray(out.reshape(H, W) if gray else out, "L" if gray else "RGB")
