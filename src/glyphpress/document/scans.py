"""PDFs without a text layer (scans): their pages read by OCR (``ocr.py``). In raster mode the pages stay
as they are and their text (``source``, ``page_ranges``) is what OCR read from each page that has no text
of its own; in rerender mode a PDF with no text at all becomes a Document of the lines OCR read (paragraphs
from the gaps between lines, each block with its page and box in points), rendered under θ like any other.

Each page is drawn by pdfium at ``OCR_DPI`` (less where its long side would pass ``ocr.MAX_SIDE`` pixels: the
reader shrinks larger pages anyway) and read in a child process, each page within the parse time limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import InputError
from .limits import stream_with_time_limit
from .model import Document

if TYPE_CHECKING:
    from . import LoadOptions
    from .ocr import Line
    from .pdf import RasterDocument

OCR_DPI = 150  # a scanned page's text, 9 pt and up, is 19 pixels high or more
REOPEN_PAGES = 50  # pdfium keeps what it decoded of every page read until the document closes


def _read_pages(data: bytes | str, name: str, password: str | None, indices: list[int]) -> Iterator[list[Line]]:
    """In the reading child: the lines of each page of ``indices``, in points from the page's top left."""
    import pypdfium2 as pdfium

    from .ocr import MAX_SIDE, Line, read_lines

    pdf = pdfium.PdfDocument(data, password=password)
    try:
        for k, i in enumerate(indices):
            if k and k % REOPEN_PAGES == 0:
                pdf.close()
                pdf = pdfium.PdfDocument(data, password=password)
            page = pdf[i]
            w, h = page.get_size()
            scale = min(OCR_DPI / 72, MAX_SIDE / max(w, h, 1.0))
            img = page.render(scale=scale).to_pil().convert("RGB")
            page.close()
            try:
                lines = read_lines(img)
            except InputError as e:
                raise InputError(f"{name}: page {i + 1}: {e}") from None
            del img
            yield [Line(ln.text, tuple(v / scale for v in ln.box), ln.score) for ln in lines]
    finally:
        pdf.close()


def read_pages(data: bytes | str, name: str, password: str | None, indices: list[int],
               opt: LoadOptions) -> list[list[Line]]:
    """The lines OCR reads on pages ``indices`` of a PDF (its bytes or path), each page read within
    ``opt.time_limit`` seconds."""
    return list(stream_with_time_limit(opt.time_limit, name, _read_pages, data, name, password, indices,
                                       step="reading a page with OCR", memory_mb=opt.memory_mb))


def _can_read(opt: LoadOptions) -> bool:
    from .ocr import available

    return opt.ocr and available()


def _why_not(opt: LoadOptions) -> str:
    from .ocr import INSTALL_HINT

    return "OCR turned off" if not opt.ocr else INSTALL_HINT


def read_scanned_raster(doc: RasterDocument, data: bytes | str, opt: LoadOptions) -> RasterDocument:
    """A raster PDF whose pages without a text layer get the text OCR reads on them."""
    from .ocr import page_text

    blank = [i for i, (a, b) in enumerate(doc.page_ranges) if not doc.source[a:b].strip()]
    if not blank:
        return doc
    if not _can_read(opt):
        if len(blank) == len(doc.sizes):
            doc.warnings.append(f"{doc.name}: no text layer, so no text tokens are counted ({_why_not(opt)})")
        return doc
    read = dict(zip(blank, read_pages(data, doc.name, doc.password, blank, opt)))
    parts, ranges, pos = [], [], 0
    for i, (a, b) in enumerate(doc.page_ranges):
        text = page_text(read[i]) if i in read else doc.source[a:b]
        parts.append(text)
        ranges.append((pos, pos + len(text)))
        pos += len(text)
    found = sum(1 for lines in read.values() if lines)
    warnings = list(doc.warnings)
    if found:
        some = "" if found == len(doc.sizes) else f" on {found} of its {len(doc.sizes)} pages"
        warnings.append(f"{doc.name}: no text layer{some}: text read by OCR (it may misread)")
    return replace(doc, source="".join(parts), page_ranges=ranges, warnings=warnings)


def read_scanned(doc: RasterDocument, data: bytes | str, opt: LoadOptions) -> Document | RasterDocument:
    """A PDF with no text layer, asked for in rerender mode (``doc``: its pages, as raster mode has them): the
    Document of the lines OCR reads, or, where OCR is not installed or finds no text, the raster pages."""
    from .ocr import to_document

    if not _can_read(opt):
        doc.warnings.append(f"{doc.name}: no text layer, rendered as raster pages ({_why_not(opt)})")
        return doc
    pages = read_pages(data, doc.name, doc.password, list(range(len(doc.sizes))), opt)
    document = to_document(doc.name, pages, "pdf")
    if not document.source.strip():
        doc.warnings.append(f"{doc.name}: no text layer, and OCR found no text: rendered as raster pages")
        return doc
    document.warnings.append(f"{doc.name}: no text layer: text read by OCR (it may misread)")
    return document
