"""What the layout engine takes: text, optionally with per-character styles and per-paragraph settings.

Plain text is a ``Flow`` with neither (the fast path). Structured documents (Markdown, code, ...)
flatten to a display text in which every paragraph is one line of the text (``\\n`` separates
paragraphs), a style index per character, a ``Paragraphs`` table, and a map from display
characters back to source characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ALIGN_CODES = {"LEFT": 0, "CENTER": 1, "RIGHT": 2, "JUSTIFY": 3}
OBJECT = "\ufffc"  # stands in the display text for an inline object (a formula, an image)
ALIGN_THETA = -1  # a paragraph that follows θ's alignment
CONTINUATION_MARK = "↪"


@dataclass(frozen=True)
class Style:
    """A run style: font (a family or file; None is θ's font), size relative to θ, colour."""

    font: str | None = None
    scale: float = 1.0
    color: str | None = None  # None: θ's font colour


@dataclass
class ParaSpec:
    """One paragraph's settings, in points, added to θ's own."""

    indent: float = 0.0  # extra left indent
    first: float = 0.0  # extra first-line indent (negative: hanging)
    before: float = 0.0  # extra space before
    after: float = 0.0  # extra space after
    align: int = ALIGN_THETA  # ALIGN_CODES value, or ALIGN_THETA
    mark: bool = False  # wrapped lines start with a continuation mark (code)
    table: int = -1  # the table a row belongs to, or -1
    header: bool = False  # a table's header row, repeated at the top of each column it continues in
    brk: bool = False  # starts a new page


@dataclass
class Paragraphs:
    """``ParaSpec`` fields as arrays, indexed by paragraph number (what the layout reads)."""

    indent: np.ndarray
    first: np.ndarray
    before: np.ndarray
    after: np.ndarray
    align: np.ndarray
    mark: np.ndarray
    table: np.ndarray
    header: np.ndarray
    brk: np.ndarray

    @classmethod
    def build(cls, specs: list[ParaSpec]) -> Paragraphs:
        def column(name: str, dtype) -> np.ndarray:
            return np.array([getattr(p, name) for p in specs], dtype=dtype)

        return cls(column("indent", np.float64), column("first", np.float64), column("before", np.float64),
                   column("after", np.float64), column("align", np.int64), column("mark", bool),
                   column("table", np.int64), column("header", bool), column("brk", bool))


@dataclass
class InlineObject:
    """A picture laid out like a (big) character: ``L`` images are ink coverage drawn in the text colour,
    ``RGB`` images are pasted as they are. ``depth`` is how far it reaches below the baseline (px)."""

    image: object  # PIL.Image.Image
    depth: int = 0


@dataclass
class Flow:
    text: str
    styles: np.ndarray | None = None  # uint8 per character: index into style_table
    style_table: tuple[Style, ...] = field(default_factory=lambda: (Style(),))
    paragraphs: Paragraphs | None = None
    source: np.ndarray | None = None  # int64 per character: its index in the source text
    source_len: int | None = None
    objects: dict[int, InlineObject] = field(default_factory=dict)  # display index of an OBJECT -> object

    def __post_init__(self) -> None:
        if self.styles is not None and len(self.styles) != len(self.text):
            raise ValueError("styles must have one entry per character")
        if self.source is not None and len(self.source) != len(self.text):
            raise ValueError("source must have one entry per character")

    @property
    def plain(self) -> bool:
        return self.styles is None and self.paragraphs is None and not self.objects

    def to_source(self, index: int) -> int:
        """A display index (0..len) as a source index."""
        if self.source is None:
            return index
        if index >= len(self.text):
            return self.source_len if self.source_len is not None else int(self.source[-1]) + 1
        return int(self.source[index])
