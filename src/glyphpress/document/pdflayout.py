"""Layout analysis of a PDF page from its characters' boxes, pure geometry (pdf.py reads the characters
and rules with pdfium):

- characters become *pieces*: runs on one baseline with no gap wider than an em, superscripts and
  subscripts kept with their base ("x²"), dot leaders cut out (a contents line becomes two pieces);
- ruled tables (a grid or at least three rules of one width in the drawing) take their characters whole,
  cell by cell;
- pieces are put in reading order by a recursive XY cut: a vertical gutter splits columns, left to right;
  else horizontal gaps split bands, top to bottom, where consecutive bands that keep a group's gutters open
  stay together (a two-column body under a full-width title is read column by column, not row by row);
  columns of short pieces aligned on common baselines are a table aligned by whitespace, kept whole;
- a page written vertically (CJK columns, right to left) is turned a quarter so that the same steps apply.

Coordinates are in points with y growing downwards."""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter

from .lines import unspaced

GAP = 1.0  # ems of horizontal gap that end a piece (wider than a word space, narrower than a gutter)
MERGE = 3.0  # ems between consecutive pieces on one baseline in reading order that still make one line
SCRIPT_SIZE = 0.85  # a character this much smaller than its line's, raised or lowered: a script
SCRIPT_SHIFT = 0.15  # ems of baseline shift that make a smaller character a superscript or subscript
LEADER = ".·…_"
LEADER_RUN = 4  # leader characters in a row that make a dot leader
SHORT_CELL = 20  # a column whose pieces have at most this many characters (median) can be a table's
RULE_THICK = 3.0  # points: a path thinner than this is a rule
MAX_RULE_PAIRS = 250_000  # horizontal x vertical rules on a page beyond which it is a drawing, not tables
SUPER = dict(zip("0123456789+-=()niabcdefghjklmoprstuvwxyz",
                 "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵃᵇᶜᵈᵉᶠᵍʰʲᵏˡᵐᵒᵖʳˢᵗᵘᵛʷˣʸᶻ"))
SUB = dict(zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))


@dataclass(slots=True)
class Char:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    base: float  # baseline
    size: float
    mono: bool = False
    bold: bool = False


@dataclass
class Piece:
    """A run of text on one baseline: part of a line, a whole line, or a cell."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    base: float
    size: float
    mono: float = 0.0  # share of its characters in a monospaced font
    indent: float = 0.0  # from the left edge of its column
    bold: float = 0.0  # share of its characters in a bold font
    boxed: bool = False  # inside a form's boxes: never a cell of a table found by alignment
    words: list[tuple[str, float, float]] = field(default_factory=list, repr=False)  # text, x0, x1 of each word

    def word_pieces(self) -> list[Piece]:
        return [Piece(t, a, self.top, b, self.bottom, self.base, self.size) for t, a, b in self.words]


@dataclass
class Table:
    rows: list[list[str]]
    x0: float
    top: float
    x1: float
    bottom: float
    ruled: bool = False

    @property
    def base(self) -> float:
        return self.top

    size = 0.0
    indent = 0.0


@dataclass(slots=True)
class Rule:
    """A straight line of the drawing (or a thin filled rectangle), horizontal or vertical."""

    x0: float
    top: float
    x1: float
    bottom: float

    @property
    def horizontal(self) -> bool:
        return self.x1 - self.x0 >= self.bottom - self.top


@dataclass
class Page:
    items: list  # Pieces and Tables in reading order
    vertical: bool = False
    width: float = 0.0  # to turn a vertical page's boxes back

    def box(self, item) -> tuple[float, float, float, float]:
        """An item's box on the page as drawn (x0, top, x1, bottom)."""
        if not self.vertical:
            return item.x0, item.top, item.x1, item.bottom
        return self.width - item.bottom, item.x0, self.width - item.top, item.x1


# ---------------------------------------------------------------------------------------------- pieces


@dataclass
class _Run:
    """A piece being built."""

    chars: list[str] = field(default_factory=list)
    x0: float = 0.0
    top: float = 0.0
    x1: float = 0.0
    bottom: float = 0.0
    base: float = 0.0
    size: float = 0.0
    mono: int = 0
    bold: int = 0
    count: int = 0
    last: float = 0.0  # where its last character starts
    script: str = ""  # "^" or "_" while a superscript or subscript run is open
    script_chars: list[str] = field(default_factory=list)
    words: list[list] = field(default_factory=list)  # [text, x0, x1] of each word
    leader: list[tuple[Char, bool]] = field(default_factory=list)  # characters that may be a dot leader, each
    # with whether a space came before it

    def close_script(self) -> None:
        if self.script_chars:
            table = SUPER if self.script == "^" else SUB
            text = "".join(self.script_chars).strip()
            if all(c in table for c in text):
                self.chars.append("".join(table[c] for c in text))
            else:
                self.chars.append(f"{self.script}{text}" if len(text) == 1 else f"{self.script}({text})")
        self.script, self.script_chars = "", []

    def piece(self) -> Piece:
        self.close_script()
        n = max(self.count, 1)
        return Piece("".join(self.chars).strip(), self.x0, self.top, self.x1, self.bottom, self.base, self.size,
                     self.mono / n, bold=self.bold / n, words=[tuple(w) for w in self.words])


def pieces(chars: list[Char]) -> list[Piece]:
    """Characters, in the order of the text layer, as pieces: a new piece wherever the next character is on
    another baseline, goes back, or leaves a gap wider than ``GAP`` ems, and around a dot leader."""
    out: list[Piece] = []
    run: _Run | None = None
    space = False

    def finish() -> None:
        nonlocal run
        if run is not None:
            p = run.piece()
            if p.text:
                out.append(p)
        run = None

    def add(c: Char) -> None:
        nonlocal run, space
        if run is None:
            run = _Run([c.text], c.x0, c.top, c.x1, c.bottom, c.base, c.size, int(c.mono), int(c.bold), 1,
                       c.x0, words=[[c.text, c.x0, c.x1]])
            space = False
            return
        shift = c.base - run.base
        script = ""
        if c.size <= SCRIPT_SIZE * run.size and abs(shift) > SCRIPT_SHIFT * run.size:
            script = "^" if shift < 0 else "_"
        if script != run.script:
            run.close_script()
            run.script = script
        if space and not (script and c.x0 - run.x1 < 0.15 * run.size) and not (
                unspaced(c.text) and run.chars and unspaced(run.chars[-1][-1:])):
            (run.script_chars if script else run.chars).append(" ")
            run.words.append(["", c.x0, c.x1])
        (run.script_chars if script else run.chars).append(c.text)
        run.words[-1][0] += c.text
        run.words[-1][2] = max(run.words[-1][2], c.x1)
        run.x1 = max(run.x1, c.x1)
        run.last = c.x0
        run.top, run.bottom = min(run.top, c.top), max(run.bottom, c.bottom)
        run.mono += c.mono
        run.bold += c.bold
        run.count += 1
        space = False

    def flush_leader() -> None:
        """Leader characters too few to be a dot leader ("...", "3.14") are text."""
        nonlocal space
        leader, run.leader = run.leader, []
        if len(leader) < LEADER_RUN:
            after = space
            for d, before in leader:
                space = before
                add(d)
            space = after

    for c in chars:
        if c.text in "\r\n\x02\ufffe" or not c.text:
            space = space or c.text in "\r\n"
            continue
        if c.text.isspace():
            space = True
            continue
        if run is not None:
            size = max(run.size, c.size, 1.0)
            same_line = abs(c.base - run.base) <= 0.3 * size or (
                c.size <= SCRIPT_SIZE * run.size and c.top < run.bottom and c.bottom > run.top)
            right = run.leader[-1][0].x1 if run.leader else run.x1
            # the text goes back where a character starts left of the one before it (not of the widest box so
            # far: a font pdfium substitutes can report boxes wider than its glyphs)
            back = run.leader[-1][0].x0 if run.leader else run.last
            if not same_line or c.x0 - right > GAP * size or c.x0 < back - 0.3 * size:
                flush_leader()
                finish()
        if run is not None and c.text in LEADER:
            run.leader.append((c, space))  # a dot leader or not: decided at the next character that is not one
            space = False
            continue
        if run is not None and run.leader:
            if len(run.leader) >= LEADER_RUN:
                run.leader = []
                finish()  # the text after a dot leader is a piece of its own
            else:
                flush_leader()
        add(c)
    if run is not None:
        flush_leader()
    finish()
    return out


# ---------------------------------------------------------------------------------------------- ruled tables


def _cluster(values: list[float], tolerance: float) -> list[float]:
    """Sorted values with those within ``tolerance`` of the one before merged (their mean)."""
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tolerance:
            out[-1].append(v)
        else:
            out.append([v])
    return [statistics.fmean(g) for g in out]


def ruled_tables(rules: list[Rule], chars: list[Char]) -> tuple[list[Table], list[Char], list[Rule]]:
    """Tables drawn with rules, filled from the characters inside them; the characters left over; and the
    boxes of grids that are no table (a form's), where text aligned in columns is no table either.

    A table is a connected grid of horizontal and vertical rules (cells from the rules), or, with no
    vertical rules, three or more horizontal rules of about the same extent one above the other (rows from
    the baselines, columns from the gutters between them)."""
    tol = 2.0
    hs = [r for r in _joined([r for r in rules if r.horizontal], True, tol) if r.x1 - r.x0 >= 10]
    vs = [r for r in _joined([r for r in rules if not r.horizontal], False, tol) if r.bottom - r.top >= 5]
    # connected components of the grid: a horizontal and a vertical rule that touch are joined
    parent = list(range(len(hs) + len(vs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if len(hs) * len(vs) > MAX_RULE_PAIRS:
        return [], chars, []  # a drawing (a chart, a map), not tables
    by_x = sorted(range(len(vs)), key=lambda j: vs[j].x0)
    xs = [vs[j].x0 for j in by_x]
    for i, h in enumerate(hs):
        for j in by_x[bisect.bisect_left(xs, h.x0 - tol): bisect.bisect_right(xs, h.x1 + tol)]:
            v = vs[j]
            if v.top - tol <= h.top <= v.bottom + tol:
                parent[find(i)] = find(len(hs) + j)
    groups: dict[int, list[int]] = {}
    for i in range(len(parent)):
        groups.setdefault(find(i), []).append(i)
    boxes: list[tuple[list[Rule], list[Rule]]] = []
    used: set[int] = set()
    for members in groups.values():
        gh = [hs[i] for i in members if i < len(hs)]
        gv = [vs[i - len(hs)] for i in members if i >= len(hs)]
        if len(gh) >= 2 and len(gv) >= 2:
            boxes.append((gh, gv))
            used.update(i for i in members if i < len(hs))
    # rules of one extent stacked, with no vertical rules (booktabs)
    free = sorted((h for i, h in enumerate(hs) if i not in used), key=lambda r: (round(r.x0), r.top))
    stacks: list[list[Rule]] = []
    for h in free:
        for s in stacks:
            if abs(s[0].x0 - h.x0) <= 3 * tol and abs(s[0].x1 - h.x1) <= 3 * tol:
                s.append(h)
                break
        else:
            stacks.append([h])
    for s in stacks:
        if len(s) >= 3:
            boxes.append((s, []))
    tables = []
    forms: list[Rule] = []
    taken: set[int] = set()
    for gh, gv in boxes:
        x0, x1 = min(r.x0 for r in gh + gv), max(r.x1 for r in gh + gv)
        top, bottom = min(r.top for r in gh + gv), max(r.bottom for r in gh + gv)
        inside = [k for k, c in enumerate(chars) if k not in taken and c.x1 > c.x0
                  and x0 <= (c.x0 + c.x1) / 2 <= x1 and top <= (c.top + c.bottom) / 2 <= bottom]
        if not inside:
            continue
        inside += [k + 1 for k in inside if k + 1 < len(chars) and chars[k + 1].x1 <= chars[k + 1].x0]  # spaces
        members = [chars[k] for k in sorted(inside)]
        table = _grid_table(gh, gv, members, tol) if gv else _stack_table(members)
        if table is None or not table.rows:
            if table is not None:
                forms.append(Rule(x0, top, x1, bottom))
            continue
        table.x0, table.top, table.x1, table.bottom = x0, top, x1, bottom
        tables.append(table)
        taken.update(inside)
    return tables, [c for k, c in enumerate(chars) if k not in taken], forms


def _joined(rules: list[Rule], horizontal: bool, tol: float) -> list[Rule]:
    """Rules drawn in pieces end to end (one segment per cell) joined into one line each."""
    if horizontal:
        key = sorted(rules, key=lambda r: (round((r.top + r.bottom) / 2), r.x0))
    else:
        key = sorted(rules, key=lambda r: (round((r.x0 + r.x1) / 2), r.top))
    out: list[Rule] = []
    for r in key:
        p = out[-1] if out else None
        if p is not None and horizontal and abs((p.top + p.bottom) - (r.top + r.bottom)) <= 1 and r.x0 <= p.x1 + tol:
            out[-1] = Rule(p.x0, min(p.top, r.top), max(p.x1, r.x1), max(p.bottom, r.bottom))
        elif p is not None and not horizontal and abs((p.x0 + p.x1) - (r.x0 + r.x1)) <= 1 and r.top <= p.bottom + tol:
            out[-1] = Rule(min(p.x0, r.x0), p.top, max(p.x1, r.x1), max(p.bottom, r.bottom))
        else:
            out.append(r)
    return out


def _cell_text(chars: list[Char]) -> str:
    lines = sorted(pieces(chars), key=lambda p: (round(p.base), p.x0))
    return " ".join(p.text for p in lines)


def _grid_table(hs: list[Rule], vs: list[Rule], chars: list[Char], tol: float) -> Table | None:
    """A lattice's cells: rows between horizontal rules; in each row, columns between the vertical rules that
    cross it (a cell spanning columns keeps its text whole, in its first column). A grid whose rows mostly
    differ in their columns is the boxes of a form, not a table: a Table with no rows. None where the rules
    are no grid (a frame, or rules between rows only)."""
    # the grid's outer edges count as rules where a frame line is missing (an open first column)
    left, right = min(h.x0 for h in hs), max(h.x1 for h in hs)
    ys = _cluster([(h.top + h.bottom) / 2 for h in hs] + [min(v.top for v in vs), max(v.bottom for v in vs)], tol)
    xs = _cluster([(v.x0 + v.x1) / 2 for v in vs] + [left, right], tol)
    if len(ys) < 2 or len(xs) < 3:
        return None  # a frame, or rules between rows only: columns are found from the text instead

    spans: list[list[tuple[float, float]]] = [[] for _ in xs]  # the vertical rules at each column edge
    for v in vs:
        mid = (v.x0 + v.x1) / 2
        k = min(range(len(xs)), key=lambda k: abs(xs[k] - mid))
        if abs(xs[k] - mid) <= tol:
            spans[k].append((v.top - tol, v.bottom + tol))

    def crossing(r: int) -> list[int]:
        """The columns' left edges (indices into xs) in row r: the outer edges and the rules that cross it."""
        mid = (ys[r] + ys[r + 1]) / 2
        return [0, *(k for k in range(1, len(xs) - 1) if any(a <= mid <= b for a, b in spans[k]))]

    layouts = [crossing(r) for r in range(len(ys) - 1)]
    edges = [[xs[k] for k in lay] for lay in layouts]
    cells: dict[tuple[int, int], list[Char]] = {}
    where = None
    for c in chars:
        if c.x1 > c.x0:  # a space (no box) goes with the character before it
            cx, cy = (c.x0 + c.x1) / 2, (c.top + c.bottom) / 2
            r = min(bisect.bisect_left(ys, cy, 1, len(ys) - 1) - 1, len(ys) - 2)
            where = (r, layouts[r][max(0, bisect.bisect_left(edges[r], cx) - 1)])
        if where is not None:
            cells.setdefault(where, []).append(c)
    used = [r for r in range(len(ys) - 1) if any((r, k) in cells for k in range(len(xs)))]
    if len(used) < 2:
        return None
    common = max((layouts[r] for r in used), key=lambda lay: sum(1 for r in used if layouts[r] == lay))
    if sum(1 for r in used if layouts[r] == common) < 0.5 * len(used) or len(common) < 2:
        return Table([], 0, 0, 0, 0, ruled=True)  # a form's boxes
    lines: list[list[list[Piece]]] = []
    for r in used:
        lines += _ruled_row([cells.get((r, k), []) for k in range(len(xs) - 1)])
    keep = [k for k in range(len(xs) - 1) if any(row[k] for row in lines) or k in common]
    lines = [[row[k] for k in keep] for row in lines]
    return Table(_sub_columns(lines), 0, 0, 0, 0, ruled=True)


def _sub_columns(rows: list[list[list[Piece]]]) -> list[list[str]]:
    """Cells' text, each ruled column split further where its words align in columns of their own on most
    rows (rules drawn only round groups of columns: "Total" over "Under 18" and "18 and over")."""
    out: list[list[str]] = [[] for _ in rows]
    for k in range(len(rows[0]) if rows else 0):
        column = [p for row in rows for p in row[k]]
        groups = _word_columns(column) if len(_rows(column)) >= 4 else []
        filled = sum(1 for row in rows if row[k])
        if len(groups) > 1 and all(sum(1 for row in rows if any(w.x0 < max(x.x1 for x in g) and w.x1 > min(
                x.x0 for x in g) for p in row[k] for w in p.word_pieces())) >= 0.5 * filled for g in groups):
            bounds = [(max(w.x1 for w in a) + min(w.x0 for w in b)) / 2 for a, b in zip(groups, groups[1:])]
            for j, row in enumerate(rows):
                cells = [""] * len(groups)
                for p in row[k]:
                    for w in p.word_pieces():
                        g = bisect.bisect_left(bounds, (w.x0 + w.x1) / 2)
                        cells[g] = f"{cells[g]} {w.text}".strip()
                out[j] += cells
        else:
            for j, row in enumerate(rows):
                out[j].append(" ".join(p.text for p in row[k]))
    return out


def _ruled_row(cells: list[list[Char]]) -> list[list[list[Piece]]]:
    """The lines of a ruled row's cells: one row, or, where every filled cell holds several lines (rules only
    between sections of a table), a row per line (baselines of the row's cells)."""
    lines = [sorted(pieces(c), key=lambda p: (round(p.base), p.x0)) for c in cells]
    filled = [ls for ls in lines if ls]
    if len(filled) < 2 or min(len(_rows(ls)) for ls in filled) < 2:
        return [lines]
    bases = [row[0].base for row in _rows([p for ls in filled for p in ls])]
    out: list[list[list[Piece]]] = [[[] for _ in cells] for _ in bases]
    for k, ls in enumerate(lines):
        for p in ls:
            out[min(range(len(bases)), key=lambda j: abs(bases[j] - p.base))][k].append(p)
    return out


def _stack_table(chars: list[Char]) -> Table | None:
    ps = pieces(chars)
    if not ps:
        return None
    cols = _word_columns(ps)
    if len(cols) < 2:
        return None
    return _aligned_table(cols)


def _word_columns(items: list[Piece]) -> list[list[Piece]]:
    """A table's columns from the gutters between its words, as pdfplumber's text strategy finds them by
    alignment: a strip of the table that (almost) no word crosses on any row is a gutter, however narrow
    on four rows or more (numbers may stand a space apart from the cell before), half an em on fewer; on
    ten rows or more, one row in twenty may cross it (a long name spilling over). Each word goes to the
    column its middle is in."""
    words = [w for p in items for w in p.word_pieces()]
    if not words:
        return []
    size = statistics.median(p.size for p in items) or 10.0
    rows = len(_rows(items))
    least = (0.15 if rows >= 4 else 0.5) * size
    allowed = int(0.05 * rows) if rows >= 10 else 0
    # a sweep over the words' edges: how many words cover each stretch between two edges
    events = sorted([(w.x0, 1) for w in words] + [(w.x1, -1) for w in words])
    bounds: list[float] = []
    depth, start = 0, None  # start: where the current stretch covered by at most `allowed` words began
    for x, step in events:
        depth += step
        if depth <= allowed and start is None:
            start = x
        elif depth > allowed and start is not None:
            if x - start >= least and start > events[0][0]:
                bounds.append((start + x) / 2)
            start = None
    cols: list[list[Piece]] = [[] for _ in range(len(bounds) + 1)]
    for w in words:
        cols[bisect.bisect_left(bounds, (w.x0 + w.x1) / 2)].append(w)
    return [c for c in cols if c]


# ---------------------------------------------------------------------------------------------- reading order


def _split(items: list, start: Callable, end: Callable, gap: float) -> list[list]:
    """Items in groups along one axis (``start``, ``end`` of each), apart where a strip at least ``gap`` wide
    lies between them that nothing crosses."""
    out: list[list] = []
    reach = None
    for it in sorted(items, key=start):
        if reach is None or start(it) - reach >= gap:
            out.append([it])
            reach = end(it)
        else:
            out[-1].append(it)
            reach = max(reach, end(it))
    return out


def _split_x(items: list, gap: float) -> list[list]:
    """Items in columns: groups separated by a vertical strip at least ``gap`` wide that nothing crosses."""
    return _split(items, attrgetter("x0"), attrgetter("x1"), gap)


def _split_y(items: list) -> list[list]:
    """Items in bands: groups separated by a horizontal strip that nothing crosses."""
    return _split(items, attrgetter("top"), attrgetter("bottom"), 0.0)


def _rows(items: list) -> list[list]:
    """Items grouped by baseline, top to bottom."""
    out: list[list] = []
    for it in sorted(items, key=lambda i: i.base):
        if out and abs(it.base - out[-1][0].base) <= 0.3 * max(it.size, out[-1][0].size, 1.0):
            out[-1].append(it)
        else:
            out.append([it])
    return out


def _looks_tabular(cols: list[list]) -> bool:
    """Columns (from a vertical cut) that are a table: two or more rows with cells in two or more columns,
    every column filled on at least two rows in five, and at least one column of short cells (text columns
    have long lines)."""
    if any(isinstance(i, Table) or i.boxed for col in cols for i in col):
        return False
    rows = _rows([i for col in cols for i in col])
    where = {id(i): k for k, col in enumerate(cols) for i in col}
    multi = sum(1 for row in rows if len({where[id(i)] for i in row}) >= 2)
    if len(rows) < 2 or multi < 2 or multi < 0.5 * len(rows):
        return False
    filled = [0] * len(cols)
    for row in rows:
        for k in {where[id(i)] for i in row}:
            filled[k] += 1
    if min(filled) < 0.4 * len(rows):
        return False  # a column beside only some of the rows: text beside a table, not one table
    return min(statistics.median(len(i.text) for i in col) for col in cols) <= SHORT_CELL


def _aligned_table(cols: list[list]) -> Table | None:
    """Cells from columns: rows by baseline; a row with text only in later columns continues the row above
    (a cell wrapped onto a second line)."""
    where = {id(i): k for k, col in enumerate(cols) for i in col}
    rows: list[list[str]] = []
    for row in _rows([i for col in cols for i in col]):
        cells = [""] * len(cols)
        for it in sorted(row, key=lambda i: i.x0):
            k = where[id(it)]
            cells[k] = f"{cells[k]} {it.text}".strip()
        filled = sum(1 for c in cells if c)
        if rows and not cells[0] and filled < max(2, len(cols) / 2):
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells)]
        else:
            rows.append(cells)
    if len(rows) < 2:
        return None
    flat = [i for col in cols for i in col]
    return Table(rows, min(i.x0 for i in flat), min(i.top for i in flat), max(i.x1 for i in flat),
                 max(i.bottom for i in flat))


def _gutters(items: list, gap: float) -> list[tuple[float, float]]:
    """The vertical strips between the columns of ``items``."""
    cols = _split_x(items, gap)
    return [(max(i.x1 for i in a), min(i.x0 for i in b)) for a, b in zip(cols, cols[1:])]


def _keeps_gutters(group: list, band: list, gap: float) -> bool:
    """Whether a band continues a group of bands: the group has gutters, and each is still open with the
    band added (a line across a gutter, such as a footer under two of three columns, starts a new group)."""
    if any(i.boxed for i in band if isinstance(i, Piece)):
        return False  # a form is read box row by box row
    had = _gutters(group, gap)
    now = _gutters(group + band, gap)
    return bool(had) and all(any(a < d and c < b for c, d in now) for a, b in had)


def _text_line(row: list) -> bool:
    """A row that is one line of text or a bold heading, not a table's row."""
    return len(row) == 1 and isinstance(row[0], Piece) and (len(row[0].text) > SHORT_CELL or row[0].bold >= 0.9)


def _merge_short(cols: list[list], least: float) -> list[list]:
    """Columns less than ``least`` tall joined to the neighbour sharing the most baselines with them."""
    cols = [list(c) for c in cols]

    def height(c: list) -> float:
        return max(i.bottom for i in c) - min(i.top for i in c)

    def shared(a: list, b: list) -> int:
        return sum(1 for i in a if any(abs(i.base - j.base) <= 0.3 * max(i.size, j.size, 1) for j in b))

    while len(cols) > 1:
        short = [k for k, c in enumerate(cols) if height(c) < least]
        if not short:
            break
        k = min(short, key=lambda k: height(cols[k]))
        near = [n for n in (k - 1, k + 1) if 0 <= n < len(cols)]
        n = max(near, key=lambda n: (shared(cols[k], cols[n]), -n))
        cols[min(k, n)] = cols[min(k, n)] + cols[max(k, n)]
        del cols[max(k, n)]
    return cols


def _order(items: list, left: float, gap: float) -> list:
    """Items in reading order (see the module's docstring); ``left`` is the left edge of their column. Where
    both cuts are open, columns win if each is at least a third as tall as the region and the gutter is
    wider than the widest band of white across (the space above a footer under columns that leave a
    gutter of their own open; a table's last column beside the text of its column)."""
    if len(items) > 1:
        cols = _split_x(items, gap)
        bands = _split_y(items)
        across = max((b[0].top - max(i.bottom for i in a) for a, b in zip(bands, bands[1:])), default=0.0)
        gutter = max((d - c for c, d in _gutters(items, gap)), default=0.0)
        height = max(i.bottom for i in items) - min(i.top for i in items)
        tall = all(max(i.bottom for i in c) - min(i.top for i in c) >= height / 3 for c in cols) and not all(
            isinstance(i, Piece) and i.boxed for i in items)
        groups: list[list] = []
        if len(bands) > 1 and not (len(cols) > 1 and tall and gutter >= across):
            for band in bands:
                if groups and _keeps_gutters(groups[-1], band, gap):
                    groups[-1] += band
                else:
                    groups.append(list(band))
        if len(groups) > 1:
            return [x for g in groups for x in _order(g, left, gap)]
        if len(cols) > 1:
            # a table, maybe with lines of text above or below it that no gutter crossed (they came with it)
            rows = _rows(items)
            head, tail = [], []
            while rows and _text_line(rows[0]):
                head += rows.pop(0)
            while rows and _text_line(rows[-1]):
                tail = rows.pop() + tail
            body = [i for row in rows for i in row]
            cells = _split_x(body, gap) if len(rows) >= 2 and not any(isinstance(i, Table) for i in body) else []
            if len(cells) > 1 and _looks_tabular(cells):
                words = _word_columns(body)
                table = _aligned_table(words if len(words) > len(cells) else cells)
                if table is not None:
                    return [*_order(head, left, gap), table, *_order(tail, left, gap)]
            # cut at the widest gutter between tall columns only: a short column (a table's last columns beside
            # the text of the column the table is in) goes with the neighbour it shares baselines with
            cols = _merge_short(cols, height / 3)
            if len(cols) > 1:
                widths = [min(i.x0 for i in b) - max(i.x1 for i in a) for a, b in zip(cols, cols[1:])]
                k = widths.index(max(widths)) + 1
                sides = [[i for c in cols[:k] for i in c], [i for c in cols[k:] for i in c]]
                return [x for side in sides for x in _order(side, min(i.x0 for i in side), gap)]
    ordered = sorted(items, key=lambda i: (i.base, i.x0))
    for i in ordered:
        i.indent = i.x0 - left
    return ordered


def _merge_lines(items: list) -> list:
    """Consecutive pieces in reading order on one baseline and near each other (a section number and its
    title, words a justified line spread wide) joined into one."""
    out: list = []
    for it in items:
        prev = out[-1] if out else None
        if (isinstance(it, Piece) and isinstance(prev, Piece) and abs(it.base - prev.base) <= 0.3 * max(it.size, 1)
                and 0 <= it.x0 - prev.x1 <= MERGE * max(it.size, prev.size, 1)):
            a, b = len(prev.text), len(it.text)
            out[-1] = Piece(f"{prev.text} {it.text}", prev.x0, min(prev.top, it.top), it.x1,
                            max(prev.bottom, it.bottom), prev.base, max(prev.size, it.size),
                            (prev.mono * a + it.mono * b) / (a + b), prev.indent,
                            (prev.bold * a + it.bold * b) / (a + b), prev.words + it.words)
        else:
            out.append(it)
    return out


def _vertical(chars: list[Char]) -> bool:
    """Whether the page is written in vertical lines: consecutive characters mostly stacked downwards."""
    down = across = 0
    prev = None
    for c in chars[:600]:  # the first lines tell
        if c.text.isspace() or c.x1 <= c.x0:
            continue
        if prev is not None:
            w = max(c.x1 - c.x0, prev.x1 - prev.x0, 0.1)
            if abs(c.x0 - prev.x0) < 0.3 * w and 0 <= c.top - prev.top < 3 * w:
                down += 1
            elif abs(c.top - prev.top) < 0.3 * w and 0 <= c.x0 - prev.x0 < 3 * w:
                across += 1
        prev = c
    return down >= 10 and down > 2 * across


def rotate(chars: list[Char], rules: list[Rule], degrees: int, width: float, height: float
           ) -> tuple[list[Char], list[Rule]]:
    """A page's characters and rules as it is shown, turned ``degrees`` clockwise (its /Rotate) from the
    ``width`` x ``height`` of its own coordinates. The baseline of a turned character is taken a fifth of
    its height above its bottom where the page is turned a quarter."""
    degrees %= 360
    if degrees not in (90, 180, 270):
        return chars, rules

    def turn(x: float, y: float) -> tuple[float, float]:
        if degrees == 90:
            return height - y, x
        if degrees == 180:
            return width - x, height - y
        return y, width - x

    def box(x0: float, top: float, x1: float, bottom: float) -> tuple[float, float, float, float]:
        (a, b), (c, d) = turn(x0, top), turn(x1, bottom)
        return min(a, c), min(b, d), max(a, c), max(b, d)

    out = []
    for c in chars:
        if c.x1 <= c.x0:
            out.append(c)  # a space: no box
            continue
        x0, top, x1, bottom = box(c.x0, c.top, c.x1, c.bottom)
        base = height - c.base if degrees == 180 else bottom - 0.2 * (bottom - top)
        out.append(Char(c.text, x0, top, x1, bottom, base, c.size, c.mono, c.bold))
    return out, [Rule(*box(r.x0, r.top, r.x1, r.bottom)) for r in rules]


def layout(chars: list[Char], rules: list[Rule], width: float) -> Page:
    """A page's characters (in text-layer order) and rules as pieces and tables in reading order."""
    vertical = _vertical(chars)
    if vertical:  # turned a quarter the other way: its columns (right to left) become lines (top to bottom)
        chars, rules = rotate(chars, rules, 270, width, 0.0)
    tables, rest, forms = ruled_tables(rules, chars)
    items: list = pieces(rest)
    for p in items:
        p.boxed = any(f.x0 <= (p.x0 + p.x1) / 2 <= f.x1 and f.top <= (p.top + p.bottom) / 2 <= f.bottom for f in forms)
    items += tables
    if not items:
        return Page([], vertical, width)
    sizes = [p.size for p in items if isinstance(p, Piece) and p.size > 0]
    gap = GAP * (statistics.median(sizes) if sizes else 10.0)
    ordered = _order(items, min(i.x0 for i in items), gap)
    return Page(_merge_lines(ordered), vertical, width)
