"""Ingestion: every format becomes the same Document of blocks (see model.py). Each reader is imported
when its format is first read, so plain text needs none of them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import InputError, NoTextLayer
from ..io import read_bytes
from .code import is_code_file, parse_code
from .images import IMAGE_SUFFIXES, ImageDocument, load_image, looks_like_image
from .limits import with_time_limit
from .model import PARAGRAPH, TITLE, Block, Document, Span
from .pdf import Limits, RasterDocument, parse_pdf, raster_pdf


def parse_markdown(source: str, name: str = "document.md", base: str | None = None) -> Document:
    from .markdown import parse_markdown

    return parse_markdown(source, name, base)


def parse_html(source: str, name: str = "document.html") -> Document:
    from .html import parse_html

    return parse_html(source, name)


def parse_docx(data: bytes, name: str = "document.docx") -> Document:
    from .office import parse_docx

    return parse_docx(data, name)


def parse_epub(data: bytes, name: str = "book.epub") -> Document:
    from .office import parse_epub

    return parse_epub(data, name)


def reindex(doc: Document) -> Document:
    from .office import reindex

    return reindex(doc)

FORMATS = ("auto", "text", "markdown", "code", "html", "pdf", "docx", "epub", "image")
BINARY_FORMATS = ("pdf", "docx", "epub", "image")
PAGE_FORMATS = ("pdf", "image")  # read from their file as they go: load() hands the reader the path
PDF_MODES = ("rerender", "raster")
MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
SUFFIXES = {".pdf": "pdf", ".docx": "docx", ".epub": "epub", ".html": "html", ".htm": "html", ".xhtml": "html",
            **dict.fromkeys(IMAGE_SUFFIXES, "image")}


@dataclass
class LoadOptions:
    pdf_mode: str = "rerender"  # or "raster"
    dpi: float = 72  # raster mode
    password: str | None = None
    limits: Limits | None = None
    time_limit: float | None = 120.0  # seconds for parsing any file but plain text (in a child process)
    memory_mb: int | None = None  # memory the parsing child may use beyond what it starts with
    ocr: bool = True  # read the text of images and of PDF pages without a text layer (the ocr extra)


def detect_format(name: str, head: bytes = b"") -> str:
    """The format a file's name says; a file the name calls text whose first bytes (``head``) are an image's
    is an image (stdin, an upload without a suffix)."""
    suffix = Path(name).suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    if is_code_file(name):
        return "code"
    return "image" if looks_like_image(head) else "text"


def _load_binary(data: bytes | str, name: str, fmt: str, opt: LoadOptions) -> Document | RasterDocument:
    """Parse a binary file, given as bytes or (a PDF) as its path. In the parsing child: a raster
    document comes back without the file's bytes, which the caller has already (a PDF without a text layer
    asked for in rerender mode comes back as its raster pages, for the caller to read with OCR)."""
    if fmt == "pdf":
        if opt.pdf_mode == "raster":
            return replace(raster_pdf(data, name, opt.dpi, opt.password, opt.limits, opt.time_limit, opt.memory_mb),
                           pdf=b"")
        try:
            return parse_pdf(data, name, opt.password, opt.limits)
        except NoTextLayer:
            doc = raster_pdf(data, name, opt.dpi, opt.password, opt.limits, opt.time_limit, opt.memory_mb)
            return replace(doc, pdf=b"")
    if fmt == "docx":
        return parse_docx(data, name)
    return parse_epub(data, name)


def load_bytes(data: bytes, name: str, fmt: str = "auto", options: LoadOptions | None = None,
               base: str | None = None) -> str | Document | RasterDocument | ImageDocument:
    """Any supported input as bytes: plain text stays a string (the fast path). Pictures a Markdown
    document refers to are read from ``base`` (its folder), and from nowhere else."""
    opt = options or LoadOptions()
    fmt = _format(fmt, name, opt, data[:16])
    if fmt in BINARY_FORMATS:
        if not data:
            raise InputError(f"{name}: is empty, nothing to render")
        return _parse_binary(data, name, fmt, opt)
    text = read_bytes(data, name).text
    if fmt == "text":
        return text  # the fast path: nothing to parse
    return with_time_limit(opt.time_limit, name, _parse_text_format, text, name, fmt, base, memory_mb=opt.memory_mb)


def _parse_text_format(text: str, name: str, fmt: str, base: str | None) -> Document | str:
    """Markdown, code or HTML parsed (in the parsing child, under the limits)."""
    if fmt == "markdown" and base is not None:
        return parse_markdown(text, name, base)
    return load_document(text, name, fmt)


def load(path: str | Path, fmt: str = "auto", options: LoadOptions | None = None
         ) -> str | Document | RasterDocument | ImageDocument:
    """A file in any supported format (PDF, DOCX, EPUB, HTML, Markdown, code, text; PNG, JPEG, WebP or TIFF
    images). A PDF is read by pdfium from the file as it goes, never whole into memory; so is an image, by
    Pillow."""
    p = Path(path)
    try:
        with open(p, "rb") as f:  # there and readable
            head = f.read(16)
        fmt = _format(fmt, str(path), options or LoadOptions(), head)
        if fmt in PAGE_FORMATS:
            if not head:
                raise InputError(f"{path}: is empty, nothing to render")
            return _parse_binary(str(p.resolve()), str(path), fmt, options or LoadOptions())
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    return load_bytes(data, str(path), fmt, options, base=str(p.resolve().parent))


def _format(fmt: str, name: str, opt: LoadOptions, head: bytes = b"") -> str:
    """The format to read ``name`` as (``head``: its first bytes), the options checked."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if opt.pdf_mode not in PDF_MODES:
        raise InputError(f"unknown PDF mode {opt.pdf_mode!r}; use {' or '.join(PDF_MODES)}")
    return detect_format(name, head) if fmt == "auto" else fmt


def _parse_binary(data: bytes | str, name: str, fmt: str, opt: LoadOptions
                  ) -> Document | RasterDocument | ImageDocument:
    """A binary file (bytes, or a PDF's or image's path) parsed under the time limit; a raster document gets
    the bytes or path back here rather than through the pipe. Pages without text (images, PDFs without a text
    layer) are read by OCR here, in children of their own, each page within the time limit."""
    if fmt == "image":
        return load_image(data, name, opt.limits, opt.ocr, opt.time_limit, opt.memory_mb)
    doc = with_time_limit(opt.time_limit, name, _load_binary, data, name, fmt, opt, memory_mb=opt.memory_mb)
    if isinstance(doc, RasterDocument):
        from .scans import read_scanned, read_scanned_raster

        doc.pdf = data
        return read_scanned_raster(doc, data, opt) if opt.pdf_mode == "raster" else read_scanned(doc, data, opt)
    return doc


def parse_text(source: str, name: str = "text") -> Document:
    """Plain text as a document: one paragraph per line (used in bundles)."""
    blocks, pos = [], 0
    for line in source.split("\n"):
        blocks.append(Block(PARAGRAPH, [Span(line)], pos, pos + len(line) + 1))
        pos += len(line) + 1
    blocks[-1].end = len(source)
    return Document(name, source, blocks, "text")


def load_document(source: str, name: str, fmt: str = "auto") -> Document | str:
    """Plain text stays a string (the fast path); other formats become a Document."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "auto":
        fmt = detect_format(name)
    if fmt == "markdown":
        return parse_markdown(source, name)
    if fmt == "code":
        return parse_code(source, name)
    if fmt == "html":
        return reindex(parse_html(source, name))
    if fmt in BINARY_FORMATS:
        raise InputError(f"{name}: {fmt} is a binary format; load it from its bytes")
    return source


def load_flowed(items: list[tuple[str, bytes]], cfg, opts: LoadOptions | None = None):
    """Files given as (name, bytes): one document, or several as a bundle, and its flow under θ ``cfg`` (its
    formulas typeset) where it is a document: all the work before a render's first page, in one call that
    can run in a parsing child."""
    from .flatten import to_flow

    docs = [load_bytes(data, name, "auto", opts) for name, data in items]
    obj = docs[0] if len(docs) == 1 else bundle(docs, [n for n, _ in items])
    return obj, to_flow(obj, cfg) if isinstance(obj, Document) else None


def _own(spans: list[Span], doc: Document, k: int) -> list[Span]:
    """Spans of a bundle's k-th document, its pictures' refs under its number."""
    return [Span(s.text, s.style, s.color, f"{k}/{s.ref}") if s.ref in doc.pictures else s for s in spans]


def bundle(docs: list[Document | str], names: list[str]) -> Document:
    """Several documents as one context, each behind a title bar; ``parts`` has each one's source range."""
    parts: list[str] = []
    blocks: list[Block] = []
    ranges: list[tuple[str, int, int]] = []
    pos = 0
    notes = []
    pictures: dict[str, bytes] = {}
    for doc, name in zip(docs, names):
        if isinstance(doc, RasterDocument):
            raise InputError(f"{name}: a PDF read as page images (it has no text layer, or raster mode was asked "
                             "for) cannot join a bundle; render it on its own")
        if isinstance(doc, ImageDocument):  # joins as the text OCR read on it
            if doc.document is None:
                raise InputError(f"{name}: an image joins a bundle as the text OCR reads on it, and it has none "
                                 "(install glyphpress[ocr]); render it on its own")
            notes.append(f"{name}: an image joins the bundle as the text OCR read on it")
            doc = doc.document
        d = doc if isinstance(doc, Document) else parse_text(doc, name)
        blocks.append(Block(TITLE, [Span(name)], pos, pos))
        k = len(ranges)  # pictures carried inside each file keep apart under the file's number
        for ref, data in d.pictures.items():
            pictures[f"{k}/{ref}"] = data
        for b in d.blocks:
            rows = [[_own(cell, d, k) for cell in row] for row in b.rows] if b.rows is not None else None
            blocks.append(Block(b.kind, _own(b.spans, d, k), b.start + pos, b.end + pos, b.level, b.marker, b.lang,
                                rows, b.header_rows, b.aligns))
        ranges.append((name, pos, pos + len(d.source)))
        parts.append(d.source)
        pos += len(d.source)
        if not d.source.endswith("\n"):
            parts.append("\n")
            pos += 1
    return Document("bundle", "".join(parts), blocks, "bundle", ranges, warnings=notes, pictures=pictures)


__all__ = ["Document", "RasterDocument", "ImageDocument", "Block",
           "Span", "LoadOptions", "Limits", "load", "load_bytes", "load_flowed",
           "load_document", "bundle", "detect_format", "parse_markdown", "parse_code", "parse_text", "parse_html",
           "parse_pdf", "raster_pdf", "parse_docx", "parse_epub", "load_image", "FORMATS"]
