"""Document -> Flow: every block becomes one or more paragraphs of display text with run styles,
paragraph settings and a map back to source characters. Spacing is kept tight (fractions of a line)
so structure costs little compression."""

from __future__ import annotations

import functools
import textwrap
import unicodedata

import numpy as np

from ..config import RenderConfig
from ..layout.flow import ALIGN_CODES, ALIGN_THETA, OBJECT, Flow, InlineObject, Paragraphs, ParaSpec, Style
from ..layout.fonts import resolve_font, text_width_px
from . import model as m
from .code import highlight
from .math import typeset
from .pictures import load_picture

HEADING_SCALE = {1: 1.5, 2: 1.3, 3: 1.15, 4: 1.05, 5: 1.0, 6: 1.0}
LINK_COLOUR, MUTED_COLOUR, RULE_COLOUR, NUMBER_COLOUR = "#1F4E9E", "#505050", "#8C8C8C", "#8C8C8C"
LEFT = ALIGN_CODES["LEFT"]


@functools.lru_cache(maxsize=64)
def _text_width_pt(font: str, size_pt: float, dpi: float, text: str) -> float:
    """Width as the layout engine measures it: the font's design advances."""
    return text_width_px(resolve_font(font), size_pt * dpi / 72, text) * 72 / dpi


MAX_FORMULA = 2000  # characters of LaTeX: a longer formula is shown as its source


class _Builder:
    def __init__(self, cfg: RenderConfig, line_numbers: bool, base: str | None = None,
                 pictures: dict[str, bytes] | None = None):
        self.cfg = cfg
        self.base = base
        self.pictures = pictures or {}
        self.objects: dict[int, InlineObject] = {}
        self.length = 0  # display characters so far
        self.tables = 0
        self.fs = cfg.font_size
        self.lh = cfg.line_height
        self.line_numbers = line_numbers
        family = (cfg.font_family or "sans").lower() if not cfg.font_path else "path"
        self.mono = family in ("mono", "monospace", "dejavu sans mono")
        serif = family in ("serif", "dejavu serif")
        self.fonts = {
            m.TEXT: None,
            m.BOLD: "DejaVu Sans Mono Bold" if self.mono else "DejaVu Serif Bold" if serif else "DejaVu Sans Bold",
            m.ITALIC: "DejaVu Sans Mono Oblique" if self.mono else "DejaVu Sans Oblique",
            m.BOLD_ITALIC: "DejaVu Sans Mono Bold" if self.mono else "DejaVu Sans Bold Oblique",
            m.CODE: "DejaVu Sans Mono", m.LINK: None, m.STRIKE: None,
            m.MATH: "DejaVu Sans Mono Oblique" if self.mono else "DejaVu Sans Oblique",
        }
        self.text: list[str] = []
        self.run_len: list[int] = []
        self.run_style: list[int] = []
        self.paras: list[ParaSpec] = []
        self.para_src: list[tuple[int, int, int]] = []  # (display length incl. newline, src start, src end)
        self.table: dict[Style, int] = {Style(): 0}

    # ---- styles ----------------------------------------------------------------------------
    def style(self, font: str | None = None, scale: float = 1.0, color: str | None = None) -> int:
        st = Style(font, scale, color)
        if st not in self.table:
            if len(self.table) >= 255:
                return 0
            self.table[st] = len(self.table)
        return self.table[st]

    def runs(self, spans: list[m.Span], scale: float = 1.0, color: str | None = None,
             bold: bool = False) -> list[tuple[str | InlineObject, int]]:
        """Runs of a block's spans; formulas and pictures become objects where they can."""
        out: list[tuple[str | InlineObject, int]] = []
        for s in spans:
            st = self.span_style(s, scale, color, bold)
            obj = None
            if s.style == m.MATH:
                obj = self.formula(s.text, self.fs * scale)
            elif s.style == m.PICTURE:
                obj = load_picture(s.ref, self.base, self.cfg, self.pictures.get(s.ref or ""))
                if obj is None:
                    out.append((f"[image: {s.text}]" if s.text else "[image]", self.style(self.fonts[m.ITALIC])))
                    continue
            out.append((obj, st) if obj is not None else (s.text, st))
        return out

    def formula(self, tex: str, size: float) -> InlineObject | None:
        """A formula typeset at ``size`` points, or None where it is shown as its source instead: mathtext
        cannot parse it, it is too long to typeset in good time, or it is wider than the column (its
        source wraps; a picture of it would be cut at the page's edge)."""
        if len(tex) > MAX_FORMULA:
            return None
        obj = typeset(tex, self.cfg.px(size))
        if obj is not None and obj.image.width > self.cfg.px(self.cfg.column_width):
            return None
        return obj

    def span_style(self, span: m.Span, scale: float = 1.0, color: str | None = None,
                   bold: bool = False) -> int:
        kind = span.style
        if bold:
            kind = {m.TEXT: m.BOLD, m.ITALIC: m.BOLD_ITALIC, m.LINK: m.BOLD}.get(kind, kind)
        colour = span.color or {m.LINK: LINK_COLOUR, m.STRIKE: MUTED_COLOUR}.get(kind) or color
        return self.style(self.fonts.get(kind), scale, colour)

    # ---- paragraphs --------------------------------------------------------------------------
    def para(self, runs: list[tuple[str, int]], src: tuple[int, int], indent: float = 0, first: float = 0,
             before: float = 0, after: float = 0, align: int = ALIGN_THETA, mark: bool = False,
             table: int = -1, header: bool = False, brk: bool = False) -> None:
        length = 0
        for text, st in runs:
            if isinstance(text, InlineObject):
                self.objects[self.length + length] = text
                text = OBJECT
            text = text.replace("\n", " ")
            if text:
                self.text.append(text)
                self.run_len.append(len(text))
                self.run_style.append(st)
                length += len(text)
        self.length += length + 1
        self.text.append("\n")
        self.run_len.append(1)
        self.run_style.append(runs[-1][1] if runs else 0)
        self.paras.append(ParaSpec(indent, first, before, after, align, mark, table, header, brk))
        self.para_src.append((length + 1, src[0], src[1]))

    def marker_width(self, marker: str) -> float:
        return _text_width_pt(self.fonts[m.TEXT] or self.cfg.font_path or self.cfg.font_family or "sans",
                              self.fs, self.cfg.dpi, marker + " ") if marker else 0.0

    # ---- blocks ------------------------------------------------------------------------------
    def block(self, b: m.Block) -> None:
        src = (b.start, b.end)
        lh, fs = self.lh, self.fs
        if b.kind == m.HEADING:
            scale = HEADING_SCALE.get(b.level, 1.0)
            self.para(self.runs(b.spans, scale, bold=True), src,
                      before=0.4 * lh if self.paras else 0, after=0.15 * lh, align=LEFT)
        elif b.kind == m.TITLE:
            self.para([("■ " + b.text, self.style(self.fonts[m.BOLD], 1.2))], src,
                      before=0.6 * lh if self.paras else 0, after=0.1 * lh, align=LEFT)
            self.rule(src, colour="#000000")
        elif b.kind in (m.PARAGRAPH, m.QUOTE, m.FOOTNOTE):
            colour = MUTED_COLOUR if b.kind == m.QUOTE else None
            scale = 0.9 if b.kind == m.FOOTNOTE else 1.0
            lines = _lines(self.runs(b.spans, scale, colour))
            indent = 1.2 * fs * b.level if b.kind == m.QUOTE else 0.0
            if b.marker:
                lines[0].insert(0, (b.marker + " ", self.style(None, scale, colour)))
            for k, runs in enumerate(lines):  # lines after a hard break: paragraphs without space between
                if b.kind == m.QUOTE:
                    runs.insert(0, ("▎", self.style(None, 1.0, RULE_COLOUR)))
                self.para(runs or [("", 0)], src, indent=indent, after=0.25 * lh if k == len(lines) - 1 else 0)
        elif b.kind == m.LIST_ITEM:
            w = self.marker_width(b.marker)
            lines = _lines(self.runs(b.spans))
            if b.marker:
                lines[0].insert(0, (b.marker + " ", 0))
            for k, runs in enumerate(lines):
                self.para(runs or [("", 0)], src, indent=1.4 * fs * b.level + w, first=-w if k == 0 else 0,
                          after=0.1 * lh if k == len(lines) - 1 else 0)
        elif b.kind == m.CODE_BLOCK:
            self.code(b, src)
        elif b.kind == m.MATH_BLOCK:
            st = self.style(self.fonts[m.MATH])
            obj = self.formula(b.text, fs)
            if obj is not None and self.cfg.auto_crop_width:
                # the page is cropped to its widest line: a centred formula would end at the cropped edge, so it
                # sits indented from the left instead (LaTeX's fleqn)
                self.para([(obj, st)], src, indent=2 * fs, before=0.15 * lh, after=0.25 * lh)
            elif obj is not None:
                self.para([(obj, st)], src, align=ALIGN_CODES["CENTER"], before=0.15 * lh, after=0.25 * lh)
            else:  # what mathtext cannot parse is shown as its source
                for line in b.text.splitlines() or [""]:
                    self.para([(line, st)], src, align=ALIGN_CODES["CENTER"], after=0.1 * lh)
        elif b.kind == m.TABLE:
            self.table_block(b, src)
        elif b.kind == m.RULE:
            self.rule(src)
        elif b.kind == m.BREAK:
            self.para([("", 0)], src, brk=True)
        elif b.kind == m.IMAGE:
            self.para([(b.text or "[image]", self.style(self.fonts[m.ITALIC]))], src)

    def rule(self, src: tuple[int, int], colour: str = RULE_COLOUR) -> None:
        c = self.cfg
        avail = c.column_width - c.left_indent - c.right_indent
        n = max(1, int(avail / max(0.1, _text_width_pt("DejaVu Sans", self.fs, c.dpi, "─"))) - 1)
        self.para([("─" * n, self.style("DejaVu Sans", 1.0, colour))], src, align=LEFT, after=0.2 * self.lh)

    def code(self, b: m.Block, src: tuple[int, int]) -> None:
        lines: list[list[tuple[str, int]]] = [[]]
        styles: dict[str | None, int] = {}
        for span in highlight(b.text, b.lang):
            parts = span.text.split("\n")
            st = styles.get(span.color)
            if st is None:
                st = styles[span.color] = self.style("DejaVu Sans Mono", 1.0, span.color)
            for k, part in enumerate(parts):
                if k:
                    lines.append([])
                if part:
                    lines[-1].append((part, st))
        digits = len(str(len(lines)))
        number_style = self.style("DejaVu Sans Mono", 1.0, NUMBER_COLOUR)
        indent = 0.8 * self.fs + 1.4 * self.fs * b.level
        # wrapped lines hang past the line number, or past a continuation mark
        hang = _text_width_pt("DejaVu Sans Mono", self.fs, self.cfg.dpi,
                              "0" * (digits + 1) if self.line_numbers else "00")
        for k, runs in enumerate(lines):
            if self.line_numbers:
                runs = [(f"{k + 1:>{digits}} ", number_style), *runs]
            self.para(runs or [("", number_style)], src, indent=indent + hang, first=-hang,
                      before=0.2 * self.lh if k == 0 else 0, after=0.3 * self.lh if k == len(lines) - 1 else 0,
                      align=LEFT, mark=True)

    def table_block(self, b: m.Block, src: tuple[int, int]) -> None:
        """A table in monospace columns. A wide table first gets a smaller font (down to ``TABLE_MIN_SCALE``)
        so that every cell shows whole; wider still, its columns are split into groups drawn one after
        another, each whole at the smallest font, the first (key) column repeated in each. Cells longer than
        a row (60 characters and more) wrap inside their column."""
        rows = [["".join(s.text for s in cell).replace("\n", " ") for cell in row] for row in b.rows or []]
        if not rows:
            return
        n_cols = max(len(r) for r in rows)
        rows = [r + [""] * (n_cols - len(r)) for r in rows]
        c = self.cfg
        avail = c.column_width - c.left_indent - c.right_indent
        char_w = _text_width_pt("DejaVu Sans Mono", self.fs, c.dpi, "0")
        natural = [max(3, min(60, max(_width(r[i]) for r in rows))) for i in range(n_cols)]

        def need(cols: list[int]) -> int:  # characters a row of these columns needs, every cell whole
            return sum(natural[i] for i in cols) + 3 * (len(cols) - 1) + 1

        everything = list(range(n_cols))
        groups = [everything]
        scale = min(1.0, avail / (need(everything) * char_w))
        if scale < TABLE_MIN_SCALE and n_cols > 2:  # column groups at the smallest font, the key column in each
            scale, groups = TABLE_MIN_SCALE, []
            rest = everything[1:]
            while rest:
                group = [0, rest.pop(0)]
                while rest and need(group + rest[:1]) * char_w * scale <= avail:
                    group.append(rest.pop(0))
                groups.append(group)
        scale = max(scale, TABLE_MIN_SCALE)  # a few very long cells: the smallest font, cells wrapped
        for group in groups:
            self._table_part(b, src, [[r[i] for i in group] for r in rows], [natural[i] for i in group],
                             [((b.aligns or []) + ["left"] * n_cols)[i] for i in group], avail, char_w * scale,
                             scale)

    def _table_part(self, b: m.Block, src: tuple[int, int], rows: list[list[str]], natural: list[int],
                    aligns: list[str], avail: float, char_w: float, scale: float) -> None:
        n_cols = len(natural)
        budget = max(n_cols * 3, int(avail / char_w) - 3 * (n_cols - 1) - 1)
        widths = _fit(natural, budget)
        body = self.style("DejaVu Sans Mono", scale)
        head = self.style("DejaVu Sans Mono Bold", scale)
        rule = self.style("DejaVu Sans Mono", scale, RULE_COLOUR)
        self.tables += 1
        for r, row in enumerate(rows):
            cells = [textwrap.wrap(text, w, break_long_words=True, break_on_hyphens=True) or [""]
                     for text, w in zip(row, widths)]
            st = head if r < b.header_rows else body
            for k in range(max(len(x) for x in cells)):
                runs: list[tuple[str, int]] = []
                for i, (lines, w) in enumerate(zip(cells, widths)):
                    text = lines[k] if k < len(lines) else ""
                    pad = w - _width(text)
                    a = aligns[i]
                    left = pad // 2 if a == "center" else pad if a == "right" else 0
                    if i:
                        runs.append((" │ ", rule))
                    runs.append((" " * left + text + " " * (pad - left), st))
                self.para(runs, src, align=LEFT, table=self.tables, header=r < b.header_rows)
            if r == b.header_rows - 1:
                self.para([("─┼─".join("─" * w for w in widths), rule)], src, align=LEFT, table=self.tables,
                          header=True)
        self.paras[-1].after = 0.3 * self.lh

    # ---- result ------------------------------------------------------------------------------
    def flow(self, source_len: int) -> Flow:
        text = "".join(self.text)
        styles = np.repeat(np.array(self.run_style, dtype=np.uint8), self.run_len)
        src = np.empty(len(text), dtype=np.int64)
        pos = 0
        groups: list[list[int]] = []  # paragraphs of one block share its source range: spread them together
        for length, a, b in self.para_src:
            if groups and groups[-1][1:] == [a, b]:
                groups[-1][0] += length
            else:
                groups.append([length, a, b])
        for length, a, b in groups:
            src[pos: pos + length] = a + (np.arange(length) * max(0, b - a)) // max(1, length)
            pos += length
        np.maximum.accumulate(src, out=src)
        table = tuple(sorted(self.table, key=self.table.get))
        return Flow(text, styles, table, Paragraphs.build(self.paras), src, source_len, self.objects)


def _lines(runs: list[tuple[str | InlineObject, int]]) -> list[list[tuple[str | InlineObject, int]]]:
    """A block's runs split at its hard line breaks (``model.LINE_BREAK``)."""
    lines: list[list[tuple[str | InlineObject, int]]] = [[]]
    for text, st in runs:
        if isinstance(text, str) and m.LINE_BREAK in text:
            for k, part in enumerate(text.split(m.LINE_BREAK)):
                if k:
                    lines.append([])
                if part:
                    lines[-1].append((part, st))
        else:
            lines[-1].append((text, st))
    return lines


def _width(text: str) -> int:
    """Monospace cells: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


TABLE_MIN_SCALE = 0.75  # the smallest table font, relative to the body's (6.75 pt under a 9 pt body)


def _fit(natural: list[int], budget: int) -> list[int]:
    """Column widths that fit the budget: wide columns give up room first."""
    widths = list(natural)
    while sum(widths) > budget and max(widths) > 3:
        i = widths.index(max(widths))
        widths[i] -= 1
    return widths


def to_flow(doc: m.Document, cfg: RenderConfig, line_numbers: bool = False) -> Flow:
    b = _Builder(cfg, line_numbers, doc.base, doc.pictures)
    for block in doc.blocks:
        b.block(block)
    if not b.paras:
        b.para([("", 0)], (0, len(doc.source)))
    return b.flow(len(doc.source))
