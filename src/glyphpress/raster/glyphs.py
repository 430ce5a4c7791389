"""Glyph bitmaps for the atlas, at a quarter-pixel pen phase.

``PillowGlyphs`` draws through Pillow's FreeType, hinted (the tight layout). ``PopplerGlyphs`` draws as
poppler's Splash does for the published renderer's pages: FreeType without hinting, the glyph loaded at
the rounded pixel size and scaled by a transform to the exact one, the pen's quarter-pixel phase given
as a transform offset (none for glyphs whose font box is over 50 pixels tall), anti-aliased.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from ..layout.fonts import Face

SUBPIXEL = 4  # pen-position phases per pixel


class PillowGlyphs:
    def bitmap(self, face: Face, text: str, phase: int) -> tuple[np.ndarray, int, int]:
        """(coverage, x of the pen in it, row of the baseline in it)."""
        pad = 2 * (face.ascent_px + face.descent_px) + 2  # room on every side for any overhang
        base = pad + face.ascent_px
        width = int(math.ceil(face.pil.getlength(text))) + 2 * pad
        img = Image.new("L", (width, base + face.descent_px + pad), 0)
        ImageDraw.Draw(img).text((pad + phase / SUBPIXEL, base), text, fill=255, font=face.pil, anchor="ls")
        return np.asarray(img), pad, base


class PopplerGlyphs:
    def __init__(self) -> None:
        self._faces: dict[tuple[str, float], tuple] = {}
        self._pillow = PillowGlyphs()

    def _face(self, face: Face):
        key = (face.spec, face.size_px)
        got = self._faces.get(key)
        if got is None:
            import freetype

            path, _, index = face.spec.partition("#")
            ft = freetype.Face(path, int(index or 0))
            size = max(1, math.floor(face.size_px + 0.5))  # poppler: splashRound
            ft.set_pixel_sizes(0, size)
            scale = int(face.size_px / size * 65536)
            box = ft.bbox
            tall = (box.yMax - box.yMin) * face.size_px / ft.units_per_EM + 3 > 50
            flags = freetype.FT_LOAD_RENDER | freetype.FT_LOAD_NO_HINTING | freetype.FT_LOAD_NO_BITMAP
            got = self._faces[key] = (ft, freetype.Matrix(scale, 0, 0, scale), tall, flags, freetype.Vector)
        return got

    def bitmap(self, face: Face, text: str, phase: int) -> tuple[np.ndarray, int, int]:
        if len(text) != 1:
            return self._pillow.bitmap(face, text, phase)
        ft, matrix, tall, flags, vector = self._face(face)
        ft.set_transform(matrix, vector(0 if tall else phase * 64 // SUBPIXEL, 0))
        ft.load_char(text, flags)
        g = ft.glyph
        bm = g.bitmap
        if not bm.rows or not bm.width:
            return np.zeros((1, 1), dtype=np.uint8), 0, 0
        a = np.array(bm.buffer, dtype=np.uint8).reshape(bm.rows, bm.pitch)[:, : bm.width]
        return a, -g.bitmap_left, g.bitmap_top
