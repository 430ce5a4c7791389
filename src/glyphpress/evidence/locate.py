"""Where an answer comes from: the passages of the rendered text it rests on, each with its document, pages,
lines, characters and the matched snippet.

An answer is taken apart into what can be looked for: the spans it quotes ("…", “…”, «…», 「…」, 『…』), the
key phrases it shares word for word with the text (runs of at least ``PHRASE_WORDS`` words, or
``PHRASE_CJK`` CJK characters), and its clauses (matched fuzzily with rapidfuzz's partial ratio, for a
paraphrase that keeps most of the words). Text and answer are compared as they read: case folded, every run
of whitespace one space, so a passage is found across line and page breaks. Quotes rank above phrases,
phrases above fuzzy clauses, longer and closer matches first; passages of one kind that overlap are one
citation, and a weaker match over a stronger one adds nothing (an exact passage is never widened by a
fuzzy one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

PHRASE_WORDS = 4  # words a key phrase shares with the text, at least
PHRASE_CJK = 5  # CJK characters a key phrase shares with the text, at least
MIN_QUOTE = 6  # characters of a quote worth looking for
MIN_SCORE = 80.0  # rapidfuzz partial ratio a fuzzy clause needs
KINDS = {"quote": 3, "phrase": 2, "fuzzy": 1}

MAX_QUOTE = 2000  # characters a quote may span (an unclosed quotation mark costs no more than this)
_QUOTES = re.compile("|".join(f"{a}([^{b}]{{{MIN_QUOTE},{MAX_QUOTE}}}){b}" for a, b in
                             (('"', '"'), ("“", "”"), ("«", "»"), ("「", "」"), ("『", "』"), ("‘", "’"))))
_CLAUSES = re.compile(r"[.;:!?。；：！？\n]+|[,，、](?=\s*\S{0,3}[\u3400-\u9fff])")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class Citation:
    """A passage an answer rests on."""

    chars: tuple[int, int]  # [start, end) in the rendered text (``Rendered.source``)
    snippet: str  # the text there
    query: str  # what of the answer it matched
    kind: str  # quote, phrase or fuzzy
    score: float  # 100 for exact matches; rapidfuzz's partial ratio for fuzzy ones
    document: str = ""  # the bundle part (or the document) it is in
    pages: tuple[int, int] = (0, 0)  # first and last page, 1-based
    lines: tuple[int, int] = (0, 0)  # first line (on the first page) and last line (on the last page), 1-based
    boxes: list[tuple[int, float, float, float, float]] = field(default_factory=list)  # (page, x0, y0, x1, y1)

    def label(self) -> str:
        """``[doc B, p. 12, lines 30-34]``."""
        where = f"p. {self.pages[0]}" if self.pages[0] == self.pages[1] else f"pp. {self.pages[0]}-{self.pages[1]}"
        lines = "" if not self.lines[0] else (
            f", line {self.lines[0]}" if self.lines[0] == self.lines[1] and self.pages[0] == self.pages[1]
            else f", lines {self.lines[0]}-{self.lines[1]}")
        return f"[{self.document + ', ' if self.document else ''}{where}{lines}]"

    def to_dict(self) -> dict:
        return {"document": self.document, "pages": list(self.pages), "lines": list(self.lines),
                "chars": list(self.chars), "snippet": self.snippet, "query": self.query, "kind": self.kind,
                "score": round(self.score, 1), "label": self.label(),
                "boxes": [[p, *(round(v, 1) for v in b)] for p, *b in self.boxes]}


class Folded:
    """A text as it reads: case folded, every run of whitespace one space, with the way back to the text's
    own character positions."""

    def __init__(self, text: str):
        parts, index = [], []
        pos = 0
        for m in re.finditer(r"\s+", text):
            if m.start() > pos:
                parts.append(text[pos:m.start()])
                index.extend(range(pos, m.start()))
            parts.append(" ")
            index.append(m.start())
            pos = m.end()
        parts.append(text[pos:])
        index.extend(range(pos, len(text)))
        joined = "".join(parts)
        low = joined.lower()
        self.text = low if len(low) == len(joined) else "".join(c if len(c.lower()) != 1 else c.lower()
                                                               for c in joined)
        self.index = np.asarray(index + [len(text)], dtype=np.int64)

    def span(self, a: int, b: int) -> tuple[int, int]:
        """Folded [a, b) as [start, end) in the text."""
        return int(self.index[a]), int(self.index[max(a, b - 1)]) + 1 if b > a else int(self.index[a])


def fold(text: str) -> str:
    return " ".join(text.split()).lower()


def queries(answer: str) -> list[tuple[str, str]]:
    """What of an answer can be looked for: (kind, text), quotes first, then its clauses."""
    out: list[tuple[str, str]] = []
    for m in _QUOTES.finditer(answer):
        out.append(("quote", next(g for g in m.groups() if g)))
    rest = _QUOTES.sub(" ", answer)
    for clause in _CLAUSES.split(rest):
        clause = clause.strip(" \t-–—*•\"'()[]")
        if len(_WORD.findall(clause)) >= PHRASE_WORDS or len(_CJK.findall(clause)) >= PHRASE_CJK:
            out.append(("clause", clause))
    return out


def _phrases(clause: str, hay: str) -> list[tuple[int, int, str]]:
    """The longest runs of the clause's words (or CJK characters) found word for word in ``hay``, each at
    least a key phrase long: (start in hay, end, the phrase)."""
    q = fold(clause)
    letters = len(re.findall(r"\w", q))
    cjk = len(_CJK.findall(q)) >= max(PHRASE_CJK, 0.5 * letters)  # mostly CJK: by characters; else by words
    if cjk:
        units = [(m.start(), m.end()) for m in re.finditer(r"\S", q)]
        need = PHRASE_CJK
    else:
        units = [(m.start(), m.end()) for m in _WORD.finditer(q)]
        need = PHRASE_WORDS
    out = []
    i = 0
    while i + need <= len(units):
        j = i + need
        if hay.find(q[units[i][0]:units[j - 1][1]]) < 0:
            i += 1
            continue
        while j < len(units) and hay.find(q[units[i][0]:units[j][1]]) >= 0:
            j += 1
        phrase = q[units[i][0]:units[j - 1][1]]
        at = hay.find(phrase)
        out.append((at, at + len(phrase), phrase))
        i = j
    return out


def find(answer: str, text: str, limit: int = 5, min_score: float = MIN_SCORE,
         folded: Folded | None = None, quote: bool = False) -> list[Citation]:
    """The passages of ``text`` an answer rests on, best first (without pages: see ``locate``). With
    ``quote``, the answer is itself a quote, looked for whole first, however short."""
    folded = folded or Folded(text)
    hay = folded.text
    found: list[tuple[int, int, str, str, float]] = []  # folded start, end, kind, query, score
    asked = ([("quote", answer.strip())] if quote and answer.strip() else []) + queries(answer)
    for kind, q in asked:
        fq = fold(q)
        if kind == "quote":
            at = hay.find(fq)
            if at >= 0:
                found.append((at, at + len(fq), "quote", q, 100.0))
                continue
            kind = "clause"  # a quote that is not word for word is looked for like any clause
        phrases = _phrases(q, hay)
        for a, b, phrase in phrases:
            found.append((a, b, "phrase", phrase, 100.0))
        covered = sum(b - a for a, b, _ in phrases)
        if covered < 0.8 * len(fq):  # most of the clause is not there word for word: a paraphrase?
            from rapidfuzz import fuzz

            m = fuzz.partial_ratio_alignment(fq, hay, score_cutoff=min_score)
            if m is not None and m.dest_end > m.dest_start:
                found.append((m.dest_start, m.dest_end, "fuzzy", q, float(m.score)))
    found.sort(key=lambda f: (-KINDS[f[2]], -f[4], -(f[1] - f[0])))
    kept: list[list] = []
    for a, b, kind, q, score in found:
        for k in kept:  # overlapping passages of one kind are one; a weaker one over a stronger one adds nothing
            if a < k[1] and b > k[0]:
                if k[2] == kind:
                    k[0], k[1] = min(k[0], a), max(k[1], b)
                break
        else:
            kept.append([a, b, kind, q, score])
    out = []
    for a, b, kind, q, score in kept[:limit]:
        while a > 0 and hay[a - 1].isalnum() and hay[a].isalnum() and not _CJK.match(hay[a]):
            a -= 1  # whole words: a fuzzy alignment may start or end inside one
        while b < len(hay) and hay[b].isalnum() and hay[b - 1].isalnum() and not _CJK.match(hay[b]):
            b += 1
        s, e = folded.span(a, b)
        out.append(Citation((s, e), text[s:e], q, kind, score))
    return out


@dataclass
class Shown:
    """What ``locate`` needs of a rendered document, when it is not a ``Rendered`` in memory: its text, its
    pages (``result.Page``: source ranges and line boxes) and the parts of a bundle."""

    source: str
    pages: list
    documents: list[dict] = field(default_factory=list)
    name: str = ""

    @classmethod
    def from_manifest(cls, manifest: dict, source: str, lines: list | None = None) -> Shown:
        """A document on disk: its manifest, its text and the pages' line rows (``lines.json``), if kept."""
        from ..result import Page

        pages = []
        for i, p in enumerate(manifest["pages"]):
            rows = lines[i] if lines and i < len(lines) and lines[i] is not None else None
            pages.append(Page(i, p["width"], p["height"], tuple(p["source_range"]), p["vision_tokens"],
                              p["image_tokens"], lines=None if rows is None else np.asarray(rows, np.float64)
                              .reshape(-1, 6)))
        return cls(source, pages, manifest.get("documents", []), manifest["source"]["name"])


def locate(answer: str, rendered, limit: int = 5, min_score: float = MIN_SCORE) -> list[Citation]:
    """The passages a ``Rendered`` document (or a ``Shown`` one) shows that ``answer`` rests on, best first,
    each with its document (a bundle's part), pages, lines and their boxes in the page images."""
    text = rendered.source
    if not text or not answer.strip():
        return []
    cites = find(answer, text, limit, min_score, _folded(rendered))
    for c in cites:
        place(c, rendered)
    return cites


def _folded(rendered) -> Folded:
    cached = getattr(rendered, "_folded", None)  # a session asks many questions of one text
    if cached is None or cached[0] is not rendered.source:
        cached = (rendered.source, Folded(rendered.source))
        try:
            rendered._folded = cached
        except AttributeError:
            pass
    return cached[1]


def place(c: Citation, rendered) -> None:
    """Fill in a citation's document, pages, lines and boxes from the rendered pages."""
    a, b = c.chars
    for part in rendered.documents:
        s, e = part["source_range"]
        if s <= a < max(e, s + 1):
            c.document = part["name"]
            break
    else:
        c.document = rendered.name if rendered.documents else ""
    on = [p for p in rendered.pages if p.source_range[0] < max(b, a + 1) and p.source_range[1] > a]
    if not on:
        return
    c.pages = (on[0].index + 1, on[-1].index + 1)
    first_line = last_line = 0
    for p in on:
        if p.lines is None or not len(p.lines):
            continue
        starts, ends = p.lines[:, 0], p.lines[:, 1]
        hit = np.nonzero((starts < b) & (ends > a) & (ends > starts))[0]  # lines showing cited characters
        if not len(hit):  # (a line without characters of its own, a heading a bundle adds, only failing those)
            hit = np.nonzero((starts < max(b, a + 1)) & (np.maximum(ends, starts + 1) > a))[0]
        if not len(hit):
            continue
        first_line = first_line or int(hit[0]) + 1
        last_line = int(hit[-1]) + 1
        c.boxes += [(p.index + 1, *map(float, p.lines[i, 2:6])) for i in hit]
    c.lines = (first_line, last_line)
