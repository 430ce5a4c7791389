"""One document model for every format: blocks with semantic roles, each keeping its source range."""

from __future__ import annotations

from dataclasses import dataclass, field

# inline span styles
TEXT, BOLD, ITALIC, BOLD_ITALIC, CODE, LINK, STRIKE, MATH, PICTURE = (
    "text", "bold", "italic", "bold_italic", "code", "link", "strike", "math", "picture")
# block kinds
PARAGRAPH, HEADING, LIST_ITEM, QUOTE, CODE_BLOCK, TABLE, MATH_BLOCK, IMAGE, RULE, BREAK, FOOTNOTE, TITLE = (
    "paragraph", "heading", "list_item", "quote", "code", "table", "math", "image", "rule", "break",
    "footnote", "title")


LINE_BREAK = "\n"  # in a span's text outside code: a hard line break (HTML <br>, DOCX w:br, Markdown's hard break)


@dataclass
class Span:
    text: str  # for a picture: its alt text
    style: str = TEXT
    color: str | None = None  # syntax colouring of code
    ref: str | None = None  # a picture's file, relative to the document's folder


@dataclass
class Block:
    kind: str
    spans: list[Span] = field(default_factory=list)
    start: int = 0  # source range [start, end)
    end: int = 0
    level: int = 0  # heading level; nesting depth of lists and quotes
    marker: str = ""  # list bullet or number, task box
    lang: str | None = None  # code language
    rows: list[list[list[Span]]] | None = None  # table: rows of cells of spans
    header_rows: int = 0
    aligns: list[str] | None = None  # table column alignment: left, center, right
    page: int | None = None  # the page it starts on, 1-based, where the format has pages (PDF)
    box: tuple[float, float, float, float] | None = None  # where it is on its page: x0, top, x1, bottom in points

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.spans)


@dataclass
class Document:
    name: str
    source: str  # the text that source ranges index
    blocks: list[Block]
    format: str = "text"
    parts: list[tuple[str, int, int]] = field(default_factory=list)  # a bundle's documents: name, source range
    base: str | None = None  # the folder pictures are looked up in (None: no pictures from disk)
    warnings: list[str] = field(default_factory=list)  # what the reader found wrong with the file, one line each
    pictures: dict[str, bytes] = field(default_factory=dict, repr=False)  # pictures inside the file (DOCX, EPUB)
    # by the ref their spans give
