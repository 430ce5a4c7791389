"""Two revisions of one document as one document of their differences: the old text and the new, paragraph by
paragraph and, inside a changed paragraph, word by word; what was removed in red between ``[-`` and ``-]``,
what was added in green between ``{+`` and ``+}`` (so a reader sees the change without colour too);
unchanged paragraphs kept around each change and the long unchanged stretches between changes said in one
line. Rendered like any document, it shows a VLM (and its user) what changed between the revisions."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ..document import model as m

REMOVED, ADDED = "#C62828", "#2E7D32"
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
# a word with the space after it (so runs of spaces are no tokens of their own: diffs stay fast), a CJK
# character as a word of its own, punctuation one mark at a time
_TOKENS = re.compile(rf"[{_CJK}]\s*|[^\W{_CJK}]+\s*|[^\w\s]\s*|\s+", re.UNICODE)
MAX_TOKENS = 20_000  # a paragraph longer than this (in tokens) is compared whole, not word by word


@dataclass
class Changes:
    document: m.Document
    added: int  # words (or characters of CJK) added
    removed: int
    paragraphs: int  # paragraphs that changed


def _paragraphs(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    parts = [p.strip() for p in re.split(r"\n\s*\n", text)] if "\n\n" in text.strip() else text.split("\n")
    return [" ".join(p.split()) for p in parts if p.strip()]


def _words(spans: list[m.Span]) -> int:
    """Words in the spans, each CJK character one."""
    return sum(len([t for t in _TOKENS.findall(s.text) if t[0].isalnum() or t[0] == "_"]) for s in spans)


def _matcher(a: list[str], b: list[str]) -> difflib.SequenceMatcher:
    # long paragraphs let difflib ignore their most common tokens (its autojunk): linear enough to stay fast
    return difflib.SequenceMatcher(None, a, b, autojunk=len(a) + len(b) > 4000)


def _diff_words(old: str, new: str) -> list[m.Span]:
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    if len(a) > MAX_TOKENS or len(b) > MAX_TOKENS:
        return [m.Span("[-" + old + "-]", m.STRIKE, REMOVED), m.Span(" "), m.Span("{+" + new + "+}", m.BOLD, ADDED)]
    out: list[m.Span] = []
    for op, i1, i2, j1, j2 in _matcher(a, b).get_opcodes():
        if op == "equal":
            out.append(m.Span("".join(a[i1:i2])))
            continue
        gone, came = "".join(a[i1:i2]), "".join(b[j1:j2])
        after = (came or gone)[len((came or gone).rstrip()):]  # the space after the change stays outside it
        if gone.strip():
            out.append(m.Span("[-" + gone.strip() + "-]", m.STRIKE, REMOVED))
        if gone.strip() and came.strip():
            out.append(m.Span(" "))
        if came.strip():
            out.append(m.Span("{+" + came.strip() + "+}", m.BOLD, ADDED))
        out.append(m.Span(after))
    return [s for s in out if s.text]


def _similar(x: str, y: str) -> bool:
    """Two paragraphs alike enough to be one edited (half their words shared, in order)."""
    a, b = _TOKENS.findall(x), _TOKENS.findall(y)
    if len(a) > MAX_TOKENS or len(b) > MAX_TOKENS:
        return False
    sm = _matcher(a, b)
    return sm.real_quick_ratio() >= 0.5 and sm.quick_ratio() >= 0.5 and sm.ratio() >= 0.5


def _pair(old: list[str], new: list[str]) -> list[list[m.Span]]:
    """Paragraphs replaced by others: those alike paired in order and diffed word by word, the rest removed
    or added whole."""
    out, i, j = [], 0, 0
    while i < len(old) and j < len(new):
        if _similar(old[i], new[j]):
            out.append(_diff_words(old[i], new[j]))
            i, j = i + 1, j + 1
        elif j + 1 < len(new) and _similar(old[i], new[j + 1]):
            out.append([m.Span("{+" + new[j] + "+}", m.BOLD, ADDED)])
            j += 1
        else:
            out.append([m.Span("[-" + old[i] + "-]", m.STRIKE, REMOVED)])
            i += 1
    out += [[m.Span("[-" + p + "-]", m.STRIKE, REMOVED)] for p in old[i:]]
    out += [[m.Span("{+" + p + "+}", m.BOLD, ADDED)] for p in new[j:]]
    return out


def compare(old: str, new: str, old_name: str = "old", new_name: str = "new", context: int = 1) -> Changes:
    """The differences from ``old`` to ``new`` (texts) as a document, with ``context`` unchanged paragraphs
    kept on each side of a change."""
    a, b = _paragraphs(old), _paragraphs(new)
    rows: list[tuple[str, list[m.Span]]] = []  # (kind, spans): kind "same", "changed", "gap"
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            rows += [("same", [m.Span(p)]) for p in a[i1:i2]]
        else:
            rows += [("changed", spans) for spans in _pair(a[i1:i2], b[j1:j2])]
    changed = [i for i, (kind, _) in enumerate(rows) if kind == "changed"]
    keep = {i for c in changed for i in range(c - context, c + context + 1)}
    shown: list[tuple[str, list[m.Span]]] = []
    skipped = 0
    for i, row in enumerate(rows):
        if row[0] == "same" and i not in keep:
            skipped += 1
            continue
        if skipped:
            shown.append(("gap", [m.Span(f"[… {skipped} unchanged paragraph{'s' * (skipped > 1)} …]", m.ITALIC)]))
            skipped = 0
        shown.append(row)
    if skipped:
        shown.append(("gap", [m.Span(f"[… {skipped} unchanged paragraph{'s' * (skipped > 1)} …]", m.ITALIC)]))
    added = sum(_words([s for s in spans if s.color == ADDED]) for _, spans in shown)
    removed = sum(_words([s for s in spans if s.color == REMOVED]) for _, spans in shown)
    head = (f"Changes from {old_name} to {new_name}: {len(changed)} paragraph{'s' * (len(changed) != 1)} "
            f"changed, {added} words added, {removed} removed. Removed text is red between [- and -], added text "
            "green between {+ and +}.")
    blocks, source = [], []
    pos = 0
    for kind, spans in [("title", [m.Span(head)])] + shown:
        text = "".join(s.text for s in spans)
        blocks.append(m.Block(m.HEADING if kind == "title" else m.PARAGRAPH, spans, pos, pos + len(text),
                              level=2 if kind == "title" else 0))
        source.append(text)
        pos += len(text) + 2
    doc = m.Document(f"{old_name} → {new_name}", "\n\n".join(source), blocks, format="markdown")
    return Changes(doc, added, removed, len(changed))
