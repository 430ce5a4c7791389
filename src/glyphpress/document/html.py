"""HTML (and the XHTML chapters of EPUB) -> Document, with the standard library's HTML parser.

Malformed markup never stops it: unclosed tags close at the next block, stray end tags are ignored, a
cell closes at the next cell, row or table end. Block elements inside a table cell stay in the cell
(their text joined by spaces); ``<br>`` is a hard line break.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from . import model as m

_BLOCKS = {"p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "figure",
           "figcaption", "dt", "dd", "address", "caption", "summary", "details", "body", "center"}
_SKIP = {"script", "style", "head", "noscript", "template", "svg", "math", "iframe", "object", "select"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base", "source", "track", "embed"}
_IN_CELL = _BLOCKS | {"h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre"}
_WS = re.compile(r"\s+")
_LANG = re.compile(r"(?:language|lang)-([\w+-]+)")  # <pre class="language-python">


class _Parser(HTMLParser):
    def __init__(self, source: str, all_pictures: bool = False):
        super().__init__(convert_charrefs=True)
        self.source = source
        self.all_pictures = all_pictures
        self.line_offsets = [0] + [m.end() for m in re.finditer("\n", source)]
        self.blocks: list[m.Block] = []
        self.spans: list[m.Span] = []
        self.block_start = 0
        self.kind = m.PARAGRAPH
        self.level = 0
        self.marker = ""
        self.bold = self.italic = self.code = self.link = self.strike = 0
        self.skip = 0
        self.pre = 0
        self.pre_lang: str | None = None
        self.lists: list[list] = []
        self.quote = 0
        self.table: list[list[list[m.Span]]] | None = None
        self.table_start = 0
        self.header_rows = 0
        self.cell_is_header: list[bool] = []
        self.cell_th = False  # the open cell is a <th> (its bold ends with it)

    def _pos(self) -> int:
        line, col = self.getpos()
        return min(len(self.source), self.line_offsets[min(line - 1, len(self.line_offsets) - 1)] + col)

    # ---- blocks ------------------------------------------------------------------------------
    def flush(self, end: int | None = None) -> None:
        end = self._pos() if end is None else end
        if self.table is not None and self.kind == "cell":
            if self.table:
                self.table[-1].append(self._clean(self.spans))
            self.spans = []
            self.kind = m.PARAGRAPH
            if self.cell_th:
                self.bold = max(0, self.bold - 1)
                self.cell_th = False
            return
        spans = self.spans if self.kind == m.CODE_BLOCK else self._clean(self.spans)
        if any(s.text.strip() or s.style == m.PICTURE for s in spans):
            self.blocks.append(m.Block(self.kind, spans, self.block_start, max(end, self.block_start), self.level,
                                     self.marker, self.pre_lang if self.kind == m.CODE_BLOCK else None))
        self.spans = []
        self.block_start = end
        self.kind = m.QUOTE if self.quote else m.PARAGRAPH
        self.level = self.quote
        self.marker = ""

    @staticmethod
    def _clean(spans: list[m.Span]) -> list[m.Span]:
        out: list[m.Span] = []
        for s in spans:
            if s.style == m.PICTURE:
                out.append(s)
                continue
            if s.text == m.LINE_BREAK:  # kept; the spaces around it go
                if out:
                    out[-1].text = out[-1].text.rstrip(" ")
                    out.append(m.Span(m.LINE_BREAK, m.TEXT))
                continue
            text = _WS.sub(" ", s.text)
            if out and (out[-1].text.endswith(" ") or out[-1].text == m.LINE_BREAK) and text.startswith(" "):
                text = text[1:]
            if text:
                out.append(m.Span(text, s.style))
        while out and out[-1].text in (m.LINE_BREAK, "") and out[-1].style != m.PICTURE:  # a break at the end of
            # a block breaks nothing
            out.pop()
        if out:
            out[0].text = out[0].text.lstrip()
            if out[-1].text != m.LINE_BREAK:
                out[-1].text = out[-1].text.rstrip()
        return [s for s in out if s.text or s.style == m.PICTURE]

    def start_block(self, kind: str, level: int = 0, marker: str = "") -> None:
        self.flush()
        self.kind, self.level, self.marker = kind, level, marker
        self.block_start = self._pos()

    # ---- parser events -----------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs) -> None:
        a = dict(attrs)
        style = (a.get("style") or "").replace(" ", "").lower()
        if "page-break-before:always" in style or "break-before:page" in style:
            self.flush()
            self.blocks.append(m.Block(m.BREAK, [], self._pos(), self._pos()))
        if tag in _SKIP:
            self.skip += tag not in _VOID
            return
        if self.skip:
            return
        if self.kind == "cell" and tag in _IN_CELL:  # a block inside a cell stays in it
            if self.spans:
                self.spans.append(m.Span(" "))
            return
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.start_block(m.HEADING, int(tag[1]))
        elif tag in ("ul", "ol"):
            self.flush()
            self.lists.append([tag, int(a.get("start") or 1) if str(a.get("start") or "1").isdigit() else 1])
        elif tag == "li":
            marker = "•"
            if self.lists and self.lists[-1][0] == "ol":
                marker = f"{self.lists[-1][1]}."
                self.lists[-1][1] += 1
            self.start_block(m.LIST_ITEM, max(1, len(self.lists)), marker)
        elif tag == "blockquote":
            self.flush()
            self.quote += 1
            self.kind, self.level = m.QUOTE, self.quote
        elif tag == "pre":
            self.start_block(m.CODE_BLOCK)
            self.pre += 1
            cls = a.get("class") or ""
            lang = _LANG.search(cls)
            self.pre_lang = lang.group(1) if lang else None
        elif tag == "code" and self.pre:
            cls = a.get("class") or ""
            lang = _LANG.search(cls)
            self.pre_lang = lang.group(1) if lang else self.pre_lang
        elif tag == "hr":
            self.flush()
            self.blocks.append(m.Block(m.RULE, [], self._pos(), self._pos()))
        elif tag == "br":
            self.spans.append(m.Span("\n" if self.pre else m.LINE_BREAK))
        elif tag == "table":
            self.flush()
            self.table, self.table_start, self.header_rows = [], self._pos(), 0
        elif tag == "tr" and self.table is not None:
            if self.kind == "cell":  # the last cell was not closed
                self.flush()
            self.table.append([])
            self.cell_is_header.append(True)
        elif tag in ("td", "th") and self.table is not None:
            if self.kind == "cell":  # the last cell was not closed
                self.flush()
            if self.table == []:
                self.table.append([])
                self.cell_is_header.append(True)
            self.spans, self.kind = [], "cell"
            if tag == "td":
                self.cell_is_header[-1] = False
            if tag == "th":
                self.bold += 1
                self.cell_th = True
        elif tag in ("b", "strong"):
            self.bold += 1
        elif tag in ("i", "em", "cite", "var"):
            self.italic += 1
        elif tag in ("code", "tt", "kbd", "samp"):
            self.code += 1
        elif tag == "a":
            self.link += 1
        elif tag in ("s", "del", "strike"):
            self.strike += 1
        elif tag == "img":
            alt, src = (a.get("alt") or "").strip(), a.get("src")
            if alt or (src and self.all_pictures):  # a web page's pictures without alt text are decoration
                self.spans.append(m.Span(alt, m.PICTURE, ref=src))
        elif tag in _BLOCKS:
            self.start_block(m.QUOTE if self.quote else m.PARAGRAPH, self.quote)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if self.kind == "cell" and tag in _IN_CELL:
            return
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6", "li", "p", "pre") or tag in _BLOCKS:
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            self.flush(self._pos())
        elif tag in ("ul", "ol"):
            self.flush(self._pos())
            if self.lists:
                self.lists.pop()
        elif tag == "blockquote":
            self.flush(self._pos())
            self.quote = max(0, self.quote - 1)
            self.kind, self.level = (m.QUOTE if self.quote else m.PARAGRAPH), self.quote
        elif tag in ("td", "th") and self.table is not None and self.kind == "cell":
            self.flush()
        elif tag == "table" and self.table is not None:
            if self.kind == "cell":
                self.flush()
            rows = [r for r in self.table if r]
            header = 0
            for is_header in self.cell_is_header:
                if not is_header:
                    break
                header += 1
            if rows:
                self.blocks.append(m.Block(m.TABLE, [], self.table_start, self._pos(), rows=rows,
                                         header_rows=min(header, len(rows) - 1 if len(rows) > 1 else 0)))
            self.table, self.cell_is_header = None, []
            self.block_start = self._pos()
        elif tag in ("b", "strong"):
            self.bold = max(0, self.bold - 1)
        elif tag in ("i", "em", "cite", "var"):
            self.italic = max(0, self.italic - 1)
        elif tag in ("code", "tt", "kbd", "samp"):
            self.code = max(0, self.code - 1)
        elif tag == "a":
            self.link = max(0, self.link - 1)
        elif tag in ("s", "del", "strike"):
            self.strike = max(0, self.strike - 1)

    def handle_data(self, data: str) -> None:
        if self.skip or not data:
            return
        if self.pre:
            self.spans.append(m.Span(data))
            return
        if self.code:
            style = m.CODE
        elif self.link:
            style = m.LINK
        elif self.strike:
            style = m.STRIKE
        else:
            style = m.BOLD_ITALIC if self.bold and self.italic else m.BOLD if self.bold else m.ITALIC if self.italic \
                else m.TEXT
        if data == m.LINE_BREAK:
            data = " "  # a newline in the source is white space; only <br> breaks a line
        self.spans.append(m.Span(data, style))


def parse_html(source: str, name: str = "document.html", all_pictures: bool = False) -> m.Document:
    """An HTML page as a Document. Pictures become picture spans (their source as the ref) where they have
    alt text, or all of them with ``all_pictures`` (a book's chapter: EPUB)."""
    p = _Parser(source, all_pictures)
    p.feed(source)
    p.close()
    p.flush(len(source))
    pos = 0
    for b in p.blocks:  # ranges in order, never backwards
        b.start = max(b.start, pos)
        b.end = max(b.end, b.start)
        pos = b.start
    return m.Document(name, source, p.blocks, "html")
