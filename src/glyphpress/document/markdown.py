"""Markdown (CommonMark plus GFM tables, strikethrough, task lists, footnotes, dollar math) -> Document."""

from __future__ import annotations

from html.parser import HTMLParser

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

from .model import (
    BOLD,
    BOLD_ITALIC,
    CODE,
    CODE_BLOCK,
    FOOTNOTE,
    HEADING,
    ITALIC,
    LINE_BREAK,
    LINK,
    LIST_ITEM,
    MATH,
    MATH_BLOCK,
    PARAGRAPH,
    PICTURE,
    QUOTE,
    RULE,
    STRIKE,
    TABLE,
    TEXT,
    Block,
    Document,
    Span,
)


class _TextOfHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f"[image: {alt}]")


def html_text(fragment: str) -> str:
    """The visible text of an HTML fragment (tags dropped, entities decoded, whitespace collapsed)."""
    p = _TextOfHTML()
    p.feed(fragment)
    p.close()
    return " ".join("".join(p.parts).split())


def _parser() -> MarkdownIt:
    return (MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
            .use(footnote_plugin).use(tasklists_plugin).use(dollarmath_plugin))


def _style(bold: int, italic: int, code: bool = False) -> str:
    if code:
        return CODE
    return BOLD_ITALIC if bold and italic else BOLD if bold else ITALIC if italic else TEXT


def inline_spans(tok: Token | None) -> list[Span]:
    """The spans of an inline token: emphasis, code, links shown as text, images as their alt text."""
    if tok is None or not tok.children:
        return [Span(tok.content)] if tok is not None and tok.content else []
    spans: list[Span] = []
    bold = italic = 0
    link = strike = False
    for t in tok.children:
        kind = t.type
        if kind == "strong_open":
            bold += 1
        elif kind == "strong_close":
            bold -= 1
        elif kind == "em_open":
            italic += 1
        elif kind == "em_close":
            italic -= 1
        elif kind == "s_open":
            strike = True
        elif kind == "s_close":
            strike = False
        elif kind == "link_open":
            link = True
        elif kind == "link_close":
            link = False
        elif kind == "softbreak":
            spans.append(Span(" "))
        elif kind == "hardbreak":
            spans.append(Span(LINE_BREAK))
        elif kind == "code_inline":
            spans.append(Span(t.content, CODE))
        elif kind == "math_inline":
            spans.append(Span(t.content, MATH))
        elif kind == "image":
            alt = t.content or "".join(c.content for c in (t.children or []))
            spans.append(Span(alt, PICTURE, ref=t.attrGet("src")))
        elif kind == "footnote_ref":
            spans.append(Span(f"[{t.meta.get('label', t.meta.get('id', 0) + 1)}]"))
        elif kind == "html_inline":
            if "task-list-item-checkbox" in t.content:
                spans.append(Span("☑ " if "checked" in t.content else "☐ "))
            elif html_text(t.content):
                spans.append(Span(html_text(t.content)))
        elif kind == "text" and t.content:
            style = LINK if link else STRIKE if strike else _style(bold, italic)
            spans.append(Span(t.content, style))
    return spans


def parse_markdown(source: str, name: str = "document.md", base: str | None = None) -> Document:
    tokens = _parser().parse(source)
    line_starts = [0]
    for i, ch in enumerate(source):
        if ch == "\n":
            line_starts.append(i + 1)

    def span_of(tok: Token) -> tuple[int, int]:
        if not tok.map:
            return -1, -1
        a, b = tok.map
        start = line_starts[min(a, len(line_starts) - 1)]
        end = line_starts[b] if b < len(line_starts) else len(source)
        return start, end

    blocks: list[Block] = []
    lists: list[list] = []  # [kind, next number]
    quote = 0
    pending_marker: str | None = None
    footnote_label: str | None = None
    i = 0
    while i < len(tokens):
        t = tokens[i]
        kind = t.type
        start, end = span_of(t)
        if kind == "heading_open":
            blocks.append(Block(HEADING, inline_spans(tokens[i + 1]), start, end, level=int(t.tag[1])))
            i += 3
            continue
        if kind in ("bullet_list_open", "ordered_list_open"):
            lists.append([kind, int(t.attrGet("start") or 1)])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            top = lists[-1]
            if top[0] == "ordered_list_open":
                pending_marker = f"{top[1]}."
                top[1] += 1
            else:
                pending_marker = "•◦▪"[(len(lists) - 1) % 3]
        elif kind == "blockquote_open":
            quote += 1
        elif kind == "blockquote_close":
            quote -= 1
        elif kind == "footnote_open":
            footnote_label = str(t.meta.get("label", t.meta.get("id", 0) + 1))
        elif kind == "footnote_close":
            footnote_label = None
        elif kind == "paragraph_open":
            spans = inline_spans(tokens[i + 1])
            if footnote_label is not None:
                blocks.append(Block(FOOTNOTE, spans, start, end, marker=f"[{footnote_label}]"))
                footnote_label = None
            elif pending_marker is not None:
                blocks.append(Block(LIST_ITEM, spans, start, end, level=len(lists), marker=pending_marker))
                pending_marker = None
            elif lists:  # a later paragraph of a list item: indented, no marker
                blocks.append(Block(LIST_ITEM, spans, start, end, level=len(lists), marker=""))
            elif quote:
                blocks.append(Block(QUOTE, spans, start, end, level=quote))
            else:
                blocks.append(Block(PARAGRAPH, spans, start, end))
            i += 3
            continue
        elif kind in ("fence", "code_block"):
            lang = (t.info or "").strip().split(" ")[0] or None
            blocks.append(Block(CODE_BLOCK, [Span(t.content.rstrip("\n"))], start, end, level=len(lists), lang=lang))
        elif kind in ("math_block", "math_block_label"):
            blocks.append(Block(MATH_BLOCK, [Span(t.content.strip(), MATH)], start, end))
        elif kind == "hr":
            blocks.append(Block(RULE, [], start, end))
        elif kind == "html_block":
            text = html_text(t.content)
            if text:
                blocks.append(Block(PARAGRAPH, [Span(text)], start, end))
        elif kind == "table_open":
            i = _table(tokens, i, blocks, start, end)
            continue
        i += 1
    _fill_ranges(blocks)
    return Document(name, source, blocks, "markdown", base=base)


def _table(tokens: list[Token], i: int, blocks: list[Block], start: int, end: int) -> int:
    rows: list[list[list[Span]]] = []
    aligns: list[str] = []
    header = 0
    in_head = False
    while tokens[i].type != "table_close":
        t = tokens[i]
        if t.type == "thead_open":
            in_head = True
        elif t.type == "thead_close":
            in_head = False
        elif t.type == "tr_open":
            rows.append([])
            header += in_head
        elif t.type in ("th_open", "td_open"):
            style = t.attrGet("style") or ""
            if len(rows) == 1:
                aligns.append("center" if "center" in style else "right" if "right" in style else "left")
            spans = inline_spans(tokens[i + 1])
            if t.type == "th_open":
                spans = [Span(s.text, BOLD if s.style == TEXT else s.style) for s in spans]
            rows[-1].append(spans)
        i += 1
    blocks.append(Block(TABLE, [], start, end, rows=rows, header_rows=header, aligns=aligns))
    return i + 1


def _fill_ranges(blocks: list[Block]) -> None:
    """Blocks without a source map take an empty range where they are; ranges never go backwards."""
    pos = 0
    for b in blocks:
        if b.start < 0:
            b.start, b.end = pos, pos
        b.start = max(b.start, pos)
        b.end = max(b.end, b.start)
        pos = b.end
