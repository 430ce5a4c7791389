"""DOCX and EPUB: zip containers of XML, read with the standard library (XML through defusedxml)."""

from __future__ import annotations

import io
import posixpath
import urllib.parse
import zipfile

from defusedxml import ElementTree as ET
from defusedxml.common import DefusedXmlException

from ..errors import InputError
from . import model as m
from . import omml
from .html import parse_html

MAX_UNZIPPED = 512 << 20  # a document that inflates past this is a zip bomb, not a document
MAX_RATIO = 200  # nor is an entry that inflates over 200 times
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
OM = omml.M


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
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
V = "{urn:schemas-microsoft-com:vml}"
VO = "{urn:schemas-microsoft-com:office:office}"
PKG_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _part_path(target: str) -> str:
    """A relationship's target as a path in the archive: relative to word/, or from the root with a "/"."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join("word", target))


class _Parts:
    """A Word file's parts that runs refer to: pictures through the document's relationships. The pictures
    used are copied into ``pictures`` (by their path in the file), to be drawn."""

    def __init__(self, z: zipfile.ZipFile, name: str):
        self.z, self.name = z, name
        self.pictures: dict[str, bytes] = {}
        rels = _optional_xml(z, "word/_rels/document.xml.rels", name)
        self.targets = {} if rels is None else {
            r.get("Id"): _part_path(r.get("Target") or "")
            for r in rels.iter(f"{PKG_RELS}Relationship") if r.get("TargetMode") != "External"}

    def picture(self, rid: str | None, alt: str) -> m.Span | None:
        """A picture span: its file copied out where the file has it and it can be read, else its alt text."""
        target = self.targets.get(rid or "")
        data = _picture_bytes(self.z, target, self.name) if target else None
        if data is None:
            return m.Span(alt, m.PICTURE) if alt else None
        self.pictures[target] = data
        return m.Span(alt, m.PICTURE, ref=target)


def _picture_bytes(z: zipfile.ZipFile, member: str, name: str) -> bytes | None:
    """A picture's bytes from the archive, or None where it is missing or cannot be read (a picture never
    rejects its document: it is shown as its alt text)."""
    if member not in z.namelist():
        return None
    try:
        return _read(z, member, name)
    except InputError:
        return None


def _drawing(el, parts: _Parts | None) -> m.Span | None:
    """A picture in a run (DrawingML, or VML in older files) as a picture span with its alt text."""
    doc_pr = el.find(f".//{WP}docPr")
    alt = ((doc_pr.get("descr") or doc_pr.get("title") or "") if doc_pr is not None else "").strip()
    blip = el.find(f".//{A}blip")
    rid = blip.get(f"{R}embed") if blip is not None else None
    if rid is None:
        image = el.find(f".//{V}imagedata")
        rid = image.get(f"{R}id") if image is not None else None
        if image is not None and not alt:
            alt = image.get(f"{VO}title") or ""
    if parts is None:
        return m.Span(alt, m.PICTURE) if alt else None
    return parts.picture(rid, alt)


def _runs(p, parts: _Parts | None = None) -> list[m.Span]:
    """A paragraph's runs in order: text with its style, equations (as LaTeX) and pictures."""
    spans = []
    for r in p.iter():
        if r.tag == f"{OM}oMath":
            spans.append(m.Span(omml.to_latex(r).strip(), m.MATH))
            continue
        if r.tag != f"{W}r":
            continue
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
            elif el.tag in (f"{W}drawing", f"{W}pict"):
                picture = _drawing(el, parts)
                if picture is not None:
                    if text:
                        spans.append(_styled(text, bold, italic, strike, mono))
                        text = ""
                    spans.append(picture)
        if text:
            spans.append(_styled(text, bold, italic, strike, mono))
    return spans


def _styled(text: str, bold: bool, italic: bool, strike: bool, mono: bool) -> m.Span:
    style = m.CODE if mono else m.STRIKE if strike else m.BOLD_ITALIC if bold and italic else m.BOLD if bold \
        else m.ITALIC if italic else m.TEXT
    return m.Span(text, style)


class _Styles:
    """word/styles.xml: each style id's name (Word writes the English names, "heading 1", even where the ids
    are localised: "1", "berschrift1", "a3"), its outline level and list numbering, through ``basedOn``."""

    def __init__(self, root):
        self.styles: dict[str, dict] = {}
        for st in (root.iter(f"{W}style") if root is not None else ()):
            sid = st.get(f"{W}styleId") or ""
            name = st.find(f"{W}name")
            based = st.find(f"{W}basedOn")
            ppr = st.find(f"{W}pPr")
            outline = ppr.find(f"{W}outlineLvl") if ppr is not None else None
            num = ppr.find(f"{W}numPr") if ppr is not None else None
            self.styles[sid] = {
                "name": (name.get(f"{W}val") or "").lower().replace(" ", "") if name is not None else "",
                "based": based.get(f"{W}val") if based is not None else None,
                "outline": _int(outline.get(f"{W}val")) if outline is not None else None,
                "num": _num_pr(num)}

    def chain(self, sid: str):
        seen = set()
        while sid and sid in self.styles and sid not in seen:
            seen.add(sid)
            yield sid, self.styles[sid]
            sid = self.styles[sid]["based"]

    def name(self, sid: str) -> str:
        """The style's own name, else its id, lower case without spaces."""
        st = self.styles.get(sid)
        return st["name"] if st and st["name"] else sid.lower().replace(" ", "")

    def outline(self, sid: str) -> int | None:
        return next((st["outline"] for _, st in self.chain(sid) if st["outline"] is not None), None)

    def num(self, sid: str) -> tuple[str, int] | None:
        return next((st["num"] for _, st in self.chain(sid) if st["num"] is not None), None)


def _int(text: str | None, default: int = 0) -> int:
    try:
        return int(text or default)
    except ValueError:
        return default


def _num_pr(num) -> tuple[str, int] | None:
    """(numId, level) of a w:numPr, or None (numId 0 switches numbering off)."""
    if num is None:
        return None
    nid = num.find(f"{W}numId")
    ilvl = num.find(f"{W}ilvl")
    num_id = nid.get(f"{W}val") if nid is not None else None
    return (num_id, _int(ilvl.get(f"{W}val")) if ilvl is not None else 0) if num_id else None


class _Numbering:
    """word/numbering.xml: list markers as Word numbers them (bullets, decimal, letters, roman, the level's
    text such as "%1.%2."), counting per list and level; a level's deeper levels restart after it."""

    def __init__(self, root):
        abstract = {}
        for an in (root.iter(f"{W}abstractNum") if root is not None else ()):
            levels = {}
            for lvl in an.iter(f"{W}lvl"):
                fmt, text, start = lvl.find(f"{W}numFmt"), lvl.find(f"{W}lvlText"), lvl.find(f"{W}start")
                levels[_int(lvl.get(f"{W}ilvl"))] = (
                    fmt.get(f"{W}val") if fmt is not None else "decimal",
                    text.get(f"{W}val") if text is not None else f"%{_int(lvl.get(f'{W}ilvl')) + 1}.",
                    _int(start.get(f"{W}val"), 1) if start is not None else 1)
            abstract[an.get(f"{W}abstractNumId")] = levels
        self.nums: dict[str, dict] = {}
        for num in (root.iter(f"{W}num") if root is not None else ()):
            ref = num.find(f"{W}abstractNumId")
            self.nums[num.get(f"{W}numId")] = abstract.get(ref.get(f"{W}val") if ref is not None else None, {})
        self.counts: dict[str, list[int]] = {}

    def marker(self, num_id: str, level: int) -> str:
        levels = self.nums.get(num_id)
        if not levels:
            return "•"
        counts = self.counts.setdefault(num_id, [0] * 9)
        level = max(0, min(8, level))
        counts[level] += 1
        for deeper in range(level + 1, 9):
            counts[deeper] = 0
        fmt, text, _ = levels.get(level, ("bullet", "•", 1))
        if fmt == "bullet":
            return "•" if not text or ord(text[0]) >= 0xF000 else text  # symbol-font bullets are private-use
        out = text
        for k in range(level + 1):
            kfmt, _, start = levels.get(k, ("decimal", "", 1))
            out = out.replace(f"%{k + 1}", _format(start - 1 + max(1, counts[k]), kfmt))
        return out


def _format(n: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter"):
        s = ""
        while n > 0:
            n, r = divmod(n - 1, 26)
            s = chr(97 + r) + s
        return s.upper() if fmt == "upperLetter" else s
    if fmt in ("lowerRoman", "upperRoman"):
        s = ""
        for value, numeral in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                               (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
            while n >= value:
                s, n = s + numeral, n - value
        return s.upper() if fmt == "upperRoman" else s
    return str(n)


def _optional_xml(z: zipfile.ZipFile, member: str, name: str):
    return _xml(_read(z, member, name), name) if member in z.namelist() else None


def parse_docx(data: bytes, name: str = "document.docx") -> m.Document:
    z = _zip(data, name)
    root = _xml(_read(z, "word/document.xml", name), name)
    body = root.find(f"{W}body")
    if body is None:
        raise InputError(f"{name}: no document body")
    styles = _Styles(_optional_xml(z, "word/styles.xml", name))
    numbering = _Numbering(_optional_xml(z, "word/numbering.xml", name))
    parts = _Parts(z, name)
    blocks: list[m.Block] = []
    for el in body:
        if el.tag == f"{W}p":
            if any(br.get(f"{W}type") == "page" for br in el.iter(f"{W}br")):
                blocks.append(m.Block(m.BREAK))
            spans = _runs(el, parts)
            if el.find(f"{OM}oMathPara") is not None and spans and all(sp.style == m.MATH for sp in spans):
                blocks.append(m.Block(m.MATH_BLOCK, [m.Span(" \\\\ ".join(sp.text for sp in spans), m.MATH)]))
                continue  # a displayed equation
            ppr = el.find(f"{W}pPr")
            sid = ""
            outline = num = None
            if ppr is not None:
                ps = ppr.find(f"{W}pStyle")
                sid = (ps.get(f"{W}val") or "") if ps is not None else ""
                ol = ppr.find(f"{W}outlineLvl")
                outline = _int(ol.get(f"{W}val")) if ol is not None else None
                num = _num_pr(ppr.find(f"{W}numPr"))
            low = styles.name(sid)
            if outline is None:
                outline = styles.outline(sid)
            if num is None:
                num = styles.num(sid)
            heading = int(low[7:]) if low.startswith("heading") and low[7:].isdigit() else None
            if heading is None and outline is not None and outline < 9:  # 9 is body text
                heading = outline + 1
            if not any(sp.text.strip() or sp.ref for sp in spans):
                continue
            if heading is not None:
                blocks.append(m.Block(m.HEADING, spans, level=min(6, max(1, heading))))
            elif low == "title":
                blocks.append(m.Block(m.HEADING, spans, level=1))
            elif num is not None:
                blocks.append(m.Block(m.LIST_ITEM, spans, level=num[1] + 1, marker=numbering.marker(*num)))
            elif low.startswith(("listparagraph", "listbullet")):
                blocks.append(m.Block(m.LIST_ITEM, spans, level=1, marker="•"))
            elif "quote" in low:
                blocks.append(m.Block(m.QUOTE, spans, level=1))
            else:
                blocks.append(m.Block(m.PARAGRAPH, spans))
        elif el.tag == f"{W}tbl":
            rows = []
            for tr in el.findall(f"{W}tr"):  # its own rows: a table nested in a cell stays text of that cell
                cells = []
                for tc in tr.findall(f"{W}tc"):
                    cell: list[m.Span] = []
                    for p in tc.iter(f"{W}p"):
                        if cell:
                            cell.append(m.Span(" "))
                        cell.extend(_runs(p, parts))
                    cells.append(cell)
                rows.append(cells)
            if rows:
                blocks.append(m.Block(m.TABLE, rows=rows, header_rows=1 if len(rows) > 1 else 0))
    return reindex(m.Document(name, "", blocks, "docx", pictures=parts.pictures))


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
    pictures: dict[str, bytes] = {}
    for idref in spine:
        href = items.get(idref)
        if not href:
            continue
        member = posixpath.normpath(posixpath.join(base, href))
        raw = _read(z, member, name)
        chapter = parse_html(raw.decode("utf-8", errors="replace"), href, all_pictures=True)
        for b in chapter.blocks:  # pictures: their files in the book, by their path in it
            for cell in [b.spans] + [c for row in b.rows or [] for c in row]:
                for sp in cell:
                    if sp.style == m.PICTURE and sp.ref and "://" not in sp.ref and not sp.ref.startswith("data:"):
                        src = urllib.parse.unquote(sp.ref.split("#")[0].split("?")[0])
                        target = posixpath.normpath(posixpath.join(posixpath.dirname(member), src))
                        data = pictures.get(target) or _picture_bytes(z, target, name)
                        if data is not None:  # only files inside the book; anything else is its alt text
                            pictures[target] = data
                            sp.ref = target
        blocks.extend(chapter.blocks)
    if not blocks:
        raise InputError(f"{name}: no readable chapters")
    return reindex(m.Document(name, "", blocks, "epub", pictures=pictures))
