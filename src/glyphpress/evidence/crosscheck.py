"""Cross-checking documents: the VLM reads a bundle's pages and lists the statements on which its documents
disagree (the same subject given different values, obligations, dates or facts), each side quoted from its
own document; every quote is then located in that document alone (pages, lines, boxes), so each side of a
disagreement can be checked on the page."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .locate import Citation, find, place

FORMAT = ('Answer with a JSON array only, one object per disagreement: {"topic": "...", "sides": [{"document": '
          '"<its name>", "says": "<its words, quoted exactly>"}, ...]}. Quote each document word for word. '
          "Answer [] if they agree.")


@dataclass
class Side:
    document: str
    says: str
    citations: list[Citation] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"document": self.document, "says": self.says, "citations": [c.to_dict() for c in self.citations]}


@dataclass
class Disagreement:
    topic: str
    sides: list[Side]

    def to_dict(self) -> dict:
        return {"topic": self.topic, "sides": [s.to_dict() for s in self.sides]}


def question(names: list[str], topic: str | None = None) -> str:
    """What the VLM is asked."""
    about = f" about {topic.strip()}" if topic and topic.strip() else ""
    listed = "; ".join(f"{chr(65 + i)}: {Path(n).name}" for i, n in enumerate(names))
    return (f"These pages hold {len(names)} documents ({listed}), one after another. List every statement{about} on "
            f"which they disagree: the same subject given different values, obligations, dates or facts. {FORMAT}")


def parse(reply: str, names: list[str]) -> list[Disagreement]:
    """Disagreements from a reply: its JSON array (code fences and words around it allowed), else the rows of
    a Markdown table (topic, then one column per document). Sides name their documents by name, by letter
    (A, B, ...) or by a part of the name; a side whose document is not one of ``names`` keeps its words."""
    rows = _json_rows(reply)
    if rows is None:
        rows = _table_rows(reply, names)
    out = []
    for row in rows:
        sides = [Side(_document(str(s.get("document", "")), names), str(s.get("says", "")).strip())
                 for s in row.get("sides", []) if isinstance(s, dict) and str(s.get("says", "")).strip()]
        if sides:
            out.append(Disagreement(str(row.get("topic", "")).strip(), sides))
    return out


def _json_rows(reply: str) -> list[dict] | None:
    for m in re.finditer(r"\[", reply):
        try:
            data, _ = json.JSONDecoder().raw_decode(reply[m.start():])
        except ValueError:
            continue
        if isinstance(data, list) and all(isinstance(x, dict) for x in data):
            return data
    return None


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


def _document(said: str, names: list[str]) -> str:
    s = said.strip().strip("\"'“”").lower()
    for n in names:
        if s == n.lower():
            return n
    letter = re.fullmatch(r"(?:document\s+)?([a-z])", s)
    if letter and ord(letter.group(1)) - 97 < len(names):
        return names[ord(letter.group(1)) - 97]
    for n in names:
        stem = n.lower().rsplit(".", 1)[0]
        if s and (s in n.lower() or stem in s):
            return n
    return said.strip()


def locate_sides(disagreements: list[Disagreement], rendered, min_score: float = 80.0) -> None:
    """Each side's quote located in its own document of the bundle (the whole text where the document is not
    one of its parts)."""
    parts = {p["name"]: tuple(p["source_range"]) for p in rendered.documents}
    for d in disagreements:
        for side in d.sides:
            a, b = parts.get(side.document, (0, len(rendered.source)))
            side.citations = find(side.says, rendered.source[a:b], limit=2, min_score=min_score, quote=True)
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
