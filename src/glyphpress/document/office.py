"""DOCX and EPUB: zip containers of XML, read with the standard library (XML through defusedxml)."""

from __future__ import annotations

import io
import posixpath
import zipfile

from defusedxml import ElementTree as ET
from defusedxml.common import DefusedXmlException

from ..errors import InputError
from . import model as m
from .html import parse_html

MAX_UNZIPPED = 512 << 20  # a document that inflates past this is a zip bomb, not a document
MAX_RATIO = 200  # nor is an entry that inflates over 200 times
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _zip(data: bytes, name: str) -> zipfile.ZipFile:
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as e:
        raise InputError(f"{name}: corrupt or truncated ({e})") from None
    total = 0
    for info in z.infolist():
        total += info.file_size
        if total > MAX_UNZIPPED or (info.compress_size and info.file_size / info.compress_size > MAX_RATIO
                                    and info.file_size > 1 << 20):
            raise InputError(f"{name}: unpacks to more than it should (a decompression bomb?)")
    return z


def _read(z: zipfile.ZipFile, member: str, name: str) -> bytes:
    try:
        return z.read(member)
    except KeyError:
        raise InputError(f"{name}: missing {member}; not a valid file of its kind") from None
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise InputError(f"{name}: corrupt entry {member} ({e})") from None


def _xml(data: bytes, name: str):
    try:
        return ET.fromstring(data)
    except (ET.ParseError, DefusedXmlException) as e:
        raise InputError(f"{name}: malformed XML ({e})") from None


def reindex(doc: m.Document) -> m.Document:
    """Make the document's source its visible text (one line per block), so token counts and
    ranges refer to text a reader would send, not to markup."""
    parts, pos = [], 0
    for b in doc.blocks:
        if b.kind == m.BREAK:
            text = "\f"
        elif b.kind == m.TABLE and b.rows:
            text = "\n".join("\t".join("".join(s.text for s in cell) for cell in row) for row in b.rows)
        else:
            text = (b.marker + " " if b.marker else "") + b.text
        b.start, b.end = pos, pos + len(text) + 1
        parts.append(text + "\n")
        pos = b.end
    doc.source = "".join(parts)
    return doc


# ---- DOCX ---------------------------------------------------------------------------------------
def _runs(p) -> list[m.Span]:
    spans = []
    for r in p.iter(f"{W}r"):
        props = r.find(f"{W}rPr")
        bold = italic = strike = mono = False
        if props is not None:
            bold = props.find(f"{W}b") is not None and props.find(f"{W}b").get(f"{W}val", "1") not in ("0", "false")
            italic = props.find(f"{W}i") is not None and props.find(f"{W}i").get(f"{W}val", "1") not in ("0", "false")
            strike = props.find(f"{W}strike") is not None
            fonts = props.find(f"{W}rFonts")
            mono = fonts is not None and any("mono" in (v or "").lower() or "courier" in (v or "").lower()
                                             for v in fonts.attrib.values())
        text = ""
        for el in r:
            if el.tag == f"{W}t":
                text += el.text or ""
            elif el.tag == f"{W}tab":
                text += "\t"
            elif el.tag in (f"{W}br", f"{W}cr") and el.get(f"{W}type") not in ("page", "column"):
                text += m.LINE_BREAK
        if text:
            style = m.CODE if mono else m.STRIKE if strike else m.BOLD_ITALIC if bold and italic else m.BOLD if bold \
                else m.ITALIC if italic else m.TEXT
            spans.append(m.Span(text, style))
    return spans


def parse_docx(data: bytes, name: str = "document.docx") -> m.Document:
    z = _zip(data, name)
    root = _xml(_read(z, "word/document.xml", name), name)
    body = root.find(f"{W}body")
    if body is None:
        raise InputError(f"{name}: no document body")
    blocks: list[m.Block] = []
    for el in body:
        if el.tag == f"{W}p":
            if any(br.get(f"{W}type") == "page" for br in el.iter(f"{W}br")):
                blocks.append(m.Block(m.BREAK))
            spans = _runs(el)
            ppr = el.find(f"{W}pPr")
            style = ""
            level = 0
            is_list = False
            if ppr is not None:
                ps = ppr.find(f"{W}pStyle")
                style = (ps.get(f"{W}val") or "") if ps is not None else ""
                num = ppr.find(f"{W}numPr")
                if num is not None:
                    is_list = True
                    ilvl = num.find(f"{W}ilvl")
                    level = int(ilvl.get(f"{W}val", "0")) if ilvl is not None else 0
            low = style.lower().replace(" ", "")
            if low.startswith("heading") and low[7:].isdigit():
                blocks.append(m.Block(m.HEADING, spans, level=min(6, int(low[7:]))))
            elif low == "title":
                blocks.append(m.Block(m.HEADING, spans, level=1))
            elif is_list or low.startswith("listparagraph") or low.startswith("listbullet"):
                blocks.append(m.Block(m.LIST_ITEM, spans, level=level + 1, marker="•"))
            elif "quote" in low:
                blocks.append(m.Block(m.QUOTE, spans, level=1))
            elif any(sp.text.strip() for sp in spans):
                blocks.append(m.Block(m.PARAGRAPH, spans))
        elif el.tag == f"{W}tbl":
            rows = []
            for tr in el.iter(f"{W}tr"):
                cells = []
                for tc in tr.iter(f"{W}tc"):
                    cell: list[m.Span] = []
                    for p in tc.iter(f"{W}p"):
                        if cell:
                            cell.append(m.Span(" "))
                        cell.extend(_runs(p))
                    cells.append(cell)
                rows.append(cells)
            if rows:
                blocks.append(m.Block(m.TABLE, rows=rows, header_rows=1 if len(rows) > 1 else 0))
    return reindex(m.Document(name, "", blocks, "docx"))


# ---- EPUB ---------------------------------------------------------------------------------------
def parse_epub(data: bytes, name: str = "book.epub") -> m.Document:
    z = _zip(data, name)
    container = _xml(_read(z, "META-INF/container.xml", name), name)
    rootfile = next((el.get("full-path") for el in container.iter() if el.tag.endswith("rootfile")), None)
    if not rootfile:
        raise InputError(f"{name}: no rootfile in META-INF/container.xml")
    opf = _xml(_read(z, rootfile, name), name)
    base = posixpath.dirname(rootfile)
    items = {el.get("id"): el.get("href") for el in opf.iter() if el.tag.endswith("}item")}
    spine = [el.get("idref") for el in opf.iter() if el.tag.endswith("}itemref")]
    blocks: list[m.Block] = []
    for idref in spine:
        href = items.get(idref)
        if not href:
            continue
        raw = _read(z, posixpath.normpath(posixpath.join(base, href)), name)
        chapter = parse_html(raw.decode("utf-8", errors="replace"), href)
        blocks.extend(chapter.blocks)
    if not blocks:
        raise InputError(f"{name}: no readable chapters")
    return reindex(m.Document(name, "", blocks, "epub"))
