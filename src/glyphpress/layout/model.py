"""What layout produces: blocks of placed lines, and pages of positioned glyphs (pure geometry)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .flow import InlineObject


@dataclass(frozen=True)
class ShapedRun:
    """Text in a script that needs shaping (Arabic, Hebrew, Indic...), drawn whole by one face of a chain."""

    x: float  # pen position of the run's first character
    baseline: int
    text: str
    chain: int  # font chain (font and size) of the run
    face: int  # the chain's face that has the run's glyphs


@dataclass
class LineBlock:
    """Lines laid out from one chunk, with their glyphs in CSR form (``gptr`` per line).

    Positions are source indices (global); x values are pixels from the column's left edge."""

    start: np.ndarray  # first source index
    vend: np.ndarray  # end of visible text, trailing spaces excluded
    para_first: np.ndarray  # the line starts its paragraph
    para_last: np.ndarray  # the line ends its paragraph
    para_id: np.ndarray
    x0: np.ndarray  # px from the column's left edge to the line's text
    width: np.ndarray  # px, as drawn (justified lines fill their measure)
    height: np.ndarray  # px, baseline to baseline
    base: np.ndarray  # px from the line's top to its baseline
    descent: np.ndarray  # px below the baseline
    gptr: np.ndarray
    gx: np.ndarray  # px from the column's left edge
    gid: np.ndarray
    shaped: dict[int, list[ShapedRun]] = field(default_factory=dict)  # line -> its runs (x from the line's x0)
    objects: list[tuple[int, float, InlineObject]] = field(default_factory=list)  # (line, x, object)
    hard_end: np.ndarray | None = None  # a line break inside the paragraph ends the line
    # where each line's characters are, for wrapping a split paragraph's rest again (ReportLab's CJK
    # wrapping): the chunk, and per line its display range and whether a line break ends it
    origin: tuple | None = None

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
    shaped: list[ShapedRun]  # text drawn by the shaping path
    boxes: list[tuple[float, float, float, float]]  # paragraph boxes (x0, y0, x1, y1)
    bottom: float  # lowest text pixel row (for cropping the last page)
    last: bool = False
    objects: list[tuple[float, int, InlineObject]] = field(default_factory=list)  # (x, baseline, object)
    # the published layout's paragraph rectangles (x0, y0, x1, y1), in the order ReportLab paints them, each
    # before its own lines: it covers ink of lines above that reaches into it, in whatever colour it has
    covers: list[tuple[float, float, float, float]] = field(default_factory=list)
