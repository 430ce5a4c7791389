"""Cross-checking documents: the VLM reads a bundle's pages and lists the statements on which its documents
disagree (the same subject given different values, obligations, dates or facts), each side quoted from its
own document; every quote is then looked for, word for word, in that document alone (pages, lines, boxes),
so each side of a disagreement can be checked on the page, and a side the document does not say word for
word is shown as not found."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..vlm.replies import first_json
from .locate import Citation, find, place

FORMAT = ('Answer with a JSON array only, one object per disagreement: {"topic": "...", "sides": [{"document": '
          '"<its name>", "says": "<its words, quoted exactly>"}, ...]}. Quote each document word for word. '
          "Answer [] if they agree.")


@dataclass
class Side:
    document: str  # the part's name, or what the reply called it where it is none of the parts
    says: str
    citations: list[Citation] = field(default_factory=list)  # where it stands word for word in its document
    part: int | None = None  # the document's index in the bundle

    def to_dict(self) -> dict:
        return {"document": self.document, "says": self.says, "part": self.part,
                "citations": [c.to_dict() for c in self.citations]}


@dataclass
class Disagreement:
    topic: str
    sides: list[Side]

    def to_dict(self) -> dict:
        return {"topic": self.topic, "sides": [s.to_dict() for s in self.sides]}


def question(names: list[str], topic: str | None = None) -> str:
    """What the VLM is asked."""
    about = f" about {topic.strip()}" if topic and topic.strip() else ""
    shown = [Path(n).name for n in names]
    if len(set(shown)) < len(shown):  # two documents of one name: the letters tell them apart, and the paths
        shown = list(names)
    listed = "; ".join(f"{_letter(i)}: {n}" for i, n in enumerate(shown))
    return (f"These pages hold {len(names)} documents ({listed}), one after another. List every statement{about} on "
            f"which they disagree: the same subject given different values, obligations, dates or facts. {FORMAT}")


def parse(reply: str, names: list[str]) -> list[Disagreement]:
    """Disagreements from a reply: its JSON array (code fences and words around it allowed), else the rows of
    a Markdown table (topic, then one column per document). Sides name their documents by name, by letter
    (A, B, ...) or by a part of the name; a side whose document is not one of ``names`` keeps its words."""
    rows = first_json(reply, "[", lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v))
    if rows is None:
        rows = _table_rows(reply, names)
    out = []
    for row in rows:
        raw = row.get("sides")
        sides = []
        for s in raw if isinstance(raw, list) else []:
            if not isinstance(s, dict) or not str(s.get("says", "")).strip():
                continue
            said = str(s.get("document", ""))
            part = _document(said, names)
            sides.append(Side(names[part] if part is not None else said.strip(), str(s["says"]).strip(),
                              part=part))
        if sides:
            out.append(Disagreement(str(row.get("topic", "")).strip(), sides))
    return out


def _letter(i: int) -> str:
    return chr(65 + i) if i < 26 else f"D{i + 1}"


def _table_rows(reply: str, names: list[str]) -> list[dict]:
    rows = []
    lines = [ln.strip() for ln in reply.splitlines() if ln.strip().startswith("|")]
    header: list[str] | None = None
    for ln in lines:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
            continue
        if header is None:
            header = cells
            continue
        docs = header[1:] if len(header) > 1 else names
        rows.append({"topic": cells[0], "sides": [{"document": d, "says": c.strip("“”\"")}
                                                  for d, c in zip(docs, cells[1:])]})
    return rows


def _document(said: str, names: list[str]) -> int | None:
    """The index of the document a reply means: its name, its file name (when no other has it), its letter
    (``B``, ``Document B``), or the one whose file name, without its suffix, the reply's words hold (the
    longest such, when it is the only one that long); None when none is meant for sure."""
    s = said.strip().strip("\"'“”").lower()
    if not s:
        return None
    full = [i for i, n in enumerate(names) if n.lower() == s]
    if len(full) == 1:
        return full[0]
    base = [i for i, n in enumerate(names) if Path(n).name.lower() == s]
    if len(base) == 1:
        return base[0]
    letter = re.fullmatch(r"(?:(?:document|doc\.?)\s+)?([a-z])", s)
    if letter and ord(letter.group(1)) - 97 < len(names):
        return ord(letter.group(1)) - 97
    stems = [(len(Path(n).stem), i) for i, n in enumerate(names) if Path(n).stem.lower() in s]
    stems.sort(reverse=True)
    if stems and (len(stems) == 1 or stems[0][0] > stems[1][0]):
        return stems[0][1]
    return None


def locate_sides(disagreements: list[Disagreement], rendered) -> None:
    """Each side's words located in its own document of the bundle, word for word only (a side that
    misquotes its document, or names none of them, stays without a citation: it is not confirmed)."""
    ranges = [tuple(p["source_range"]) for p in rendered.documents]
    for d in disagreements:
        for side in d.sides:
            side.citations = []
            if side.part is None or side.part >= len(ranges):
                continue
            a, b = ranges[side.part]
            found = find(side.says, rendered.source[a:b], limit=2, quote=True)
            side.citations = [c for c in found if c.kind == "quote"]
            for c in side.citations:
                c.chars = (c.chars[0] + a, c.chars[1] + a)
                place(c, rendered)


async def cross_check(session, topic: str | None = None, on_text=None):
    """Ask a session over a bundle for the disagreements between its documents: (the ask result, the
    disagreements with each side located)."""
    import asyncio

    from ..errors import GlyphpressError

    names = [p["name"] for p in session.rendered.documents]
    if len(names) < 2:
        raise GlyphpressError("a cross-check needs two documents or more")
    result = await session.ask_async(question(names, topic), on_text, with_baseline=False)
    found = parse(result.visual.answer, names)
    await asyncio.to_thread(locate_sides, found, session.rendered)
    return result, found
