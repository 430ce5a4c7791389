"""The document model written out: Markdown (headings, lists, GFM tables, code fences, math as ``$…$``),
plain text, or JSON blocks (with their page, for formats that have pages). What ``glyphpress extract``
prints, and what the text-only baseline sends for a structured document."""

from __future__ import annotations

import re

from . import model as m

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def _escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _inline(spans: list[m.Span]) -> str:
    out = []
    for s in spans:
        if s.text == m.LINE_BREAK:
            out.append("  \n")
            continue
        text = s.text
        if s.style == m.CODE:
            fence = "``" if "`" in text else "`"
            out.append(f"{fence}{text}{fence}")
        elif s.style == m.MATH:
            out.append(f"${text}$")
        elif s.style == m.PICTURE:
            out.append(f"![{_escape(text)}]({s.ref or ''})")
        else:
            core = _escape(text.strip())
            lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
            wrap = {m.BOLD: "**", m.ITALIC: "*", m.BOLD_ITALIC: "***", m.STRIKE: "~~"}.get(s.style, "")
            out.append(f"{lead}{wrap}{core}{wrap}{trail}" if core else text)
    return "".join(out)


def _cell(spans: list[m.Span]) -> str:
    text = _inline(spans).replace("  \n", "<br>").replace("\n", " ")
    return re.sub(r"(?<!\\)\|", r"\\|", text) or " "  # a pipe not escaped yet (in code) ends no cell


def to_markdown(doc: m.Document) -> str:
    parts: list[str] = []
    for b in doc.blocks:
        if b.kind == m.HEADING:
            parts.append("#" * max(1, min(6, b.level)) + " " + _inline(b.spans).replace("  \n", " "))
        elif b.kind == m.TITLE:
            parts.append("# " + _escape(b.text))
        elif b.kind in (m.PARAGRAPH, m.FOOTNOTE):
            parts.append(((b.marker + " ") if b.marker else "") + _inline(b.spans))
        elif b.kind == m.QUOTE:
            parts.append("\n".join("> " * max(1, b.level) + line for line in _inline(b.spans).split("\n")))
        elif b.kind == m.LIST_ITEM:
            indent = "  " * max(0, b.level - 1)
            marker = b.marker if _numbered(b.marker) else "-"
            label = "" if marker != "-" or b.marker in ("", "•") else b.marker + " "
            body = _inline(b.spans).replace("\n", "\n" + indent + "  ")
            parts.append(f"{indent}{marker} {label}{body}")
        elif b.kind == m.CODE_BLOCK:
            fence = "````" if "```" in b.text else "```"
            parts.append(f"{fence}{b.lang or ''}\n{b.text.rstrip(chr(10))}\n{fence}")
        elif b.kind == m.MATH_BLOCK:
            parts.append(f"$$\n{b.text.strip()}\n$$")
        elif b.kind == m.TABLE and b.rows:
            width = max(len(r) for r in b.rows)
            rows = [[_cell(c) for c in r] + [" "] * (width - len(r)) for r in b.rows]
            head = rows[0]
            lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * width) + "|"]
            lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
            parts.append("\n".join(lines))
        elif b.kind == m.RULE:
            parts.append("---")
        elif b.kind == m.BREAK:
            parts.append("<!-- page break -->")
        elif b.kind == m.IMAGE:
            parts.append(f"![{_escape(b.text)}]()")
    # items of one list stay together (a list ends where numbers give way to bullets or back, at its own
    # level); every other block is its own paragraph
    out: list[str] = []
    for i, (b, text) in enumerate(zip(doc.blocks, parts)):
        prev = doc.blocks[i - 1] if i else None
        same_list = (prev is not None and b.kind == prev.kind == m.LIST_ITEM
                     and (b.level != prev.level or _numbered(b.marker) == _numbered(prev.marker)))
        if i and not same_list:
            out.append("")
        out.append(text)
    return "\n".join(out).strip("\n") + "\n"


def _numbered(marker: str) -> bool:
    return bool(re.fullmatch(r"\d+[.)]", marker or ""))


def to_text(doc: m.Document) -> str:
    parts: list[str] = []
    for b in doc.blocks:
        if b.kind == m.TABLE and b.rows:
            parts.append("\n".join("\t".join("".join(s.text for s in c) for c in r) for r in b.rows))
        elif b.kind == m.BREAK:
            parts.append("\f")
        elif b.kind == m.RULE:
            continue
        else:
            indent = "  " * max(0, b.level - 1) if b.kind == m.LIST_ITEM else ""
            parts.append(indent + ((b.marker + " ") if b.marker else "") + b.text)
    return "\n\n".join(p for p in parts if p.strip() or p == "\f") + "\n"


def to_json(doc: m.Document) -> dict:
    blocks = []
    for b in doc.blocks:
        item = {"kind": b.kind, "text": b.text, "start": b.start, "end": b.end}
        if b.level:
            item["level"] = b.level
        if b.marker:
            item["marker"] = b.marker
        if b.lang:
            item["lang"] = b.lang
        if b.rows is not None:
            item["rows"] = [["".join(s.text for s in c) for c in r] for r in b.rows]
            item["header_rows"] = b.header_rows
        if b.page is not None:
            item["page"] = b.page
        if b.box is not None:
            item["box"] = [round(v, 1) for v in b.box]
        blocks.append(item)
    return {"name": doc.name, "format": doc.format, "blocks": blocks}
