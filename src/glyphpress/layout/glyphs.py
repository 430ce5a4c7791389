"""Glyph ids: one number per (font chain, colour, code point) that layout places and raster draws.

The registry belongs to one θ and grows as texts meet new characters, styles and colours. Glyph id 0
is the visible newline marker. Ids are given out in the order glyphs are met, so two processes number
the same glyph differently: ``portable`` turns ids into keys any registry for the same θ understands,
and ``own`` turns keys back into this registry's ids.
"""

from __future__ import annotations

import numpy as np

from ..config import RenderConfig
from .fonts import FontChain, font_chain
from .slots import CodepointSlots

MARKER_GID = 0  # glyph id of the visible newline marker
_CODESPACE = 0x110000


class GlyphRegistry:
    """Font chains per (font, size), a palette, and glyph ids per (chain, colour, code point)."""

    def __init__(self, cfg: RenderConfig, slots: CodepointSlots, marker_colour: str | None):
        self.cfg, self.slots = cfg, slots
        self.chains: list[FontChain] = []
        self._chain_index: dict[tuple[str | None, float], int] = {}
        self.palette: list[str] = [cfg.font_color]
        self.chain(None, 1.0)
        # per glyph id: code point, chain, colour, portable key (font space x 0x110000 + code point), and
        # shape: glyph ids of one (chain, code point) in different colours share their bitmaps
        self.cp_of_gid: list[int] = [-1]
        self.chain_of_gid: list[int] = [0]
        self.colour_of_gid: list[int] = [self.colour(marker_colour)]
        self.key_of_gid: list[int] = [-1]
        self.shape_of_gid: list[int] = [0]
        self._shapes: dict[tuple[int, int], int] = {}
        self._spaces: list[tuple[int, int]] = []  # font space -> (chain, colour)
        self._space_index: dict[tuple[int, int], int] = {}
        self._gid_tables = []
        self._arrays: dict[str, np.ndarray] = {}
        self.space(0, None)

    def chain(self, font: str | None, scale: float) -> int:
        """Index of the font chain for a run's font (None: θ's) at ``scale`` times θ's size."""
        key = (font, float(scale))
        if key not in self._chain_index:
            c = self.cfg
            primary = font or c.font_path or c.font_family or "sans"
            self.chains.append(FontChain(font_chain(primary, c.fallback_fonts), c.font_size * scale, c.dpi,
                                         self.slots))
            self._chain_index[key] = len(self.chains) - 1
        return self._chain_index[key]

    def colour(self, colour: str | None) -> int:
        if colour is None:
            return 0
        if colour not in self.palette:
            self.palette.append(colour)
        return self.palette.index(colour)

    def space(self, chain: int, colour: str | None) -> int:
        """The font space (glyph-id table) of a chain in a colour."""
        key = (chain, self.colour(colour))
        if key not in self._space_index:
            self._space_index[key] = len(self._spaces)
            self._spaces.append(key)
            self._gid_tables.append(self.slots.table(np.int32, -1))
        return self._space_index[key]

    def gids(self, space: int, slot: np.ndarray, cps: np.ndarray) -> np.ndarray:
        """Glyph ids of code points (at slots ``slot``) in a font space, given out where new."""
        table = self._gid_tables[space]
        g = table.values[slot]
        new = g < 0
        if new.any():
            chain, colour = self._spaces[space]
            for cp, at in zip(*np.unique(cps[new], return_index=True)):
                table.values[slot[new][at]] = len(self.cp_of_gid)
                cp = int(cp)
                self.cp_of_gid.append(cp)
                self.chain_of_gid.append(chain)
                self.colour_of_gid.append(colour)
                self.key_of_gid.append(space * _CODESPACE + cp)
                self.shape_of_gid.append(self._shapes.setdefault((chain, cp), len(self._shapes) + 1))
            g = table.values[slot]
        return g

    def per_gid(self, name: str) -> np.ndarray:
        """One of the per-glyph-id lists (``colour_of_gid``, ``shape_of_gid`` ...) as an array, made again only
        when glyphs were added (the lists only grow), not for every page."""
        values = getattr(self, name)
        arr = self._arrays.get(name)
        if arr is None or len(arr) != len(values):
            arr = self._arrays[name] = np.asarray(values, dtype=np.int64)
        return arr

    def faces(self, gid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chain and face (the fallback font that has the glyph) of glyph ids; -1 for the marker's id."""
        chain = self.per_gid("chain_of_gid")[gid]
        cp = self.per_gid("cp_of_gid")[gid]
        face = np.full(len(gid), -1, dtype=np.int64)
        for c in np.unique(chain[cp >= 0]).tolist():
            sel = (chain == c) & (cp >= 0)
            fonts = self.chains[c]
            slot = fonts.prepare_cps(cp[sel])  # before reading the table: preparing may grow it
            face[sel] = fonts.face_of.values[slot]
        return np.where(face >= 0, chain, -1), face

    def portable(self, gid: np.ndarray) -> np.ndarray:
        return self.per_gid("key_of_gid")[gid]

    def own(self, keys: np.ndarray) -> np.ndarray:
        fs, cp = np.divmod(keys, _CODESPACE)  # the marker's key -1 gives font space -1
        gid = np.full(len(keys), MARKER_GID, dtype=np.int32)
        for f in range(int(fs.max()) + 1 if len(fs) else 0):
            if f >= len(self._spaces):  # font spaces beyond the first come from styled documents only
                raise ValueError(f"glyph space {f} is not known to this registry")
            sel = fs == f
            c = cp[sel]
            chain = self.chains[self._spaces[f][0]]
            slot = chain.prepare_cps(c)  # which fallback face draws each one
            gid[sel] = self.gids(f, slot, c)
        return gid
