"""Page geometry of a θ in pixels: page, margins, columns (frames), line pitch, baseline."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import RenderConfig
from .fonts import FontChain

FRAME_PADDING = 6.0  # points: ReportLab's Frame padding on every side (the published layout)


@dataclass(frozen=True)
class Geometry:
    scale: float  # pixels per point
    page_w: int
    page_h: int
    margin_x: float  # px
    margin_y: float
    frame_pad: float  # px inside each column (frame) before text: 6 pt in the published layout, else 0
    frame_w: float  # points: one column's frame
    col_w: float  # px: one column, padding included
    col_gap: float  # px
    col_h: float  # px: the text's height inside a column (padding taken off)
    text_top: float  # px from the page's top to a column's text
    line_h: float  # px
    ascent: float  # px, primary face
    descent: float
    baseline_offset: float  # px from a line's top to its baseline (tight layout: centred)
    pad: float  # px: paragraph border plus padding (tight layout)
    boxes: bool  # paragraph rectangles are drawn (a background or border colour shows)
    margin_x_pt: float
    gap_pt: float
    fill: tuple[int, int]  # the page colour's extent in pixels (the rest, if any, is white paper)

    def column_x(self, col: np.ndarray) -> np.ndarray:
        """px from the page's left edge to each column's (frame's) left edge."""
        if self.frame_pad:
            return (self.margin_x_pt + col * (self.frame_w + self.gap_pt)) * self.scale
        return self.margin_x + col * (self.col_w + self.col_gap)

    def frame_x_pt(self, col: int) -> float:
        return self.margin_x_pt + col * (self.frame_w + self.gap_pt)


def geometry(cfg: RenderConfig, fonts: FontChain, published: bool) -> Geometry:
    p = cfg.px
    page_w, page_h = cfg.page_px
    fill = (page_w, page_h)
    if published:  # poppler: the bitmap rounds up, the page's own rectangle to the nearest pixel
        exact = (cfg.page_size[0] * (cfg.dpi / 72.0), cfg.page_size[1] * (cfg.dpi / 72.0))
        page_w, page_h = (math.ceil(v) for v in exact)
        fill = tuple(math.floor(v + 0.5) for v in exact)
    margin_x, margin_y = p(cfg.margin_x), p(cfg.margin_y)
    frame_w = (cfg.page_size[0] - 2 * cfg.margin_x - (cfg.columns - 1) * cfg.column_gap) / cfg.columns
    frame_pad = p(FRAME_PADDING) if published else 0.0
    if published:
        col_w = frame_w * cfg.dpi / 72.0
        col_h = page_h - 2 * margin_y - 2 * frame_pad
    else:
        content_w = page_w - 2 * margin_x
        col_w = (content_w - (cfg.columns - 1) * p(cfg.column_gap)) / cfg.columns
        col_h = page_h - 2 * margin_y
    face = fonts.face(0).pil.font
    ascent, descent = float(face.ascent), float(abs(face.descent))
    line_h = p(cfg.line_height)
    bg = cfg.para_bg_color.lower() != cfg.page_bg_color.lower()
    border = cfg.border_width > 0 and (not published or cfg.para_border_color.lower() != cfg.page_bg_color.lower())
    return Geometry(cfg.dpi / 72.0, page_w, page_h, margin_x, margin_y, frame_pad, frame_w, col_w, p(cfg.column_gap),
                    col_h, margin_y + frame_pad, line_h, ascent, descent,
                    (line_h - (ascent + descent)) / 2 + ascent, p(cfg.border_width + cfg.border_padding),
                    bg or border, float(cfg.margin_x), float(cfg.column_gap), fill)
