"""Images as pages (PNG, JPEG, WebP, TIFF) and scanned PDFs, with a text layer read by RapidOCR: pictures drawn
here with a bundled font, read back, fitted into θ's page; bombs, truncated files and too many frames refused."""

import io
import re
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from glyphpress import count, load_config, render
from glyphpress.document import (
    Document,
    ImageDocument,
    Limits,
    LoadOptions,
    RasterDocument,
    bundle,
    detect_format,
    load,
    load_bytes,
    ocr,
)
from glyphpress.document import model as m
from glyphpress.document.ocr import Line, reading_order, to_document
from glyphpress.errors import InputError

from ..conftest import FONTS
from ..needs import package

needs_ocr = package("rapidocr", "onnxruntime")
needs_fpdf = package("fpdf")
INLINE = LoadOptions(time_limit=None)  # read in this process: the OCR engine stays loaded between tests
NO_OCR = LoadOptions(ocr=False)


def draw(lines: list[str], size=(900, 320), px: int = 24, x: int = 30, y: int = 24,
         title_px: int | None = None) -> Image.Image:
    """Lines of text drawn in DejaVu Sans, one under the other (an empty string leaves a blank line); the
    first at ``title_px`` if given."""
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        size_px = title_px if i == 0 and title_px else px
        d.text((x, y), line, fill="black", font=ImageFont.truetype(str(FONTS / "DejaVuSans.ttf"), size_px))
        y += round(size_px * 1.4)
    return img


def encoded(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def read_most(text: str, drawn: str, share: float = 0.8) -> bool:
    """OCR noise allowed: most of the words drawn were read."""
    want = words(drawn)
    return len(want & words(text)) >= share * len(want)


PAGE = ["Invoice 4711 from Harbour Supplies", "Forty crates of lemons arrive on Friday.",
        "Payment is due within thirty days."]


# ---- the OCR reader: reading order and paragraphs, on boxes (no OCR needed) -------------------------
def box_line(text, x0, top, x1=None, h=20):
    return Line(text, (x0, top, x1 if x1 is not None else x0 + 12 * len(text), top + h))


def test_reading_order_reads_columns_one_after_another_and_joins_pieces_of_a_row():
    title = box_line("A title across both columns of the page", 40, 10, 900)
    left = [box_line(f"left column line number {i} with prose", 40, 60 + 30 * i, 440) for i in range(4)]
    right = [box_line(f"right column line number {i} with prose", 500, 60 + 30 * i, 900) for i in range(4)]
    pieces = [right[2], left[1], title, right[0], left[3], left[0], right[3], right[1], left[2]]
    got = [ln.text for ln in reading_order(pieces)]
    assert got == [title.text] + [ln.text for ln in left] + [ln.text for ln in right]
    # two pieces of one row (a gap OCR split it at) become one line, left to right; a short table-like pair of
    # pieces is not taken for columns
    row = reading_order([box_line("world", 300, 100, 360), box_line("hello", 40, 102, 100),
                         box_line("next", 40, 140, 90), box_line("row", 300, 141, 340)])
    assert [ln.text for ln in row] == ["hello world", "next row"]
    assert row[0].box == (40, 100, 360, 122)
    cjk = reading_order([box_line("中文", 10, 10, 40), box_line("文本", 60, 10, 90)])
    assert cjk[0].text == "中文文本"  # no space between Chinese characters


def test_ocr_lines_become_paragraphs_and_headings_with_pages():
    page1 = [Line("Annual Report", (40, 10, 400, 50)),  # twice as tall as the text: a heading
             box_line("The first paragraph starts here and goes on to the", 40, 70, 640),
             box_line("end of its line, and it ends here after a long line.", 40, 95, 640),
             box_line("A second para-", 40, 150, 640),  # a gap: a new paragraph, its hyphen undone
             box_line("graph follows the gap.", 40, 175, 330)]
    page2 = [box_line("Page two has one line.", 40, 40, 330)]
    doc = to_document("scan.png", [page1, page2], "image")
    assert doc.source == "\n".join(ln.text for ln in page1) + "\n" + page2[0].text + "\n"
    kinds = [(b.kind, b.text, b.page) for b in doc.blocks]
    assert kinds == [(m.HEADING, "Annual Report", 1),
                     (m.PARAGRAPH, "The first paragraph starts here and goes on to the end of its line, and it "
                                   "ends here after a long line.", 1),
                     (m.PARAGRAPH, "A second paragraph follows the gap.", 1),
                     (m.PARAGRAPH, "Page two has one line.", 2)]
    for b in doc.blocks:  # each block's range is its lines in the source
        assert doc.source[b.start:b.end].split("\n")[0] in (b.text, "A second para-", "The first paragraph starts "
                                                           "here and goes on to the")
    assert doc.blocks[0].level == 1 and doc.blocks[1].box == (40, 70, 640, 115)
    assert doc.blocks[-1].start == len(doc.source) - len(page2[0].text) - 1 and doc.blocks[-1].end == len(doc.source)
    empty = to_document("blank.png", [[]], "image")
    assert empty.source == "\n" and not empty.blocks


# ---- real OCR -----------------------------------------------------------------------------------
@needs_ocr
def test_ocr_reads_drawn_text_in_reading_order():
    img = draw(["Quarterly Report", "", *PAGE])
    lines = ocr.read_lines(img)
    text = "\n".join(ln.text for ln in lines)
    assert read_most(text, " ".join(PAGE + ["Quarterly Report"]))
    assert "quarterly" in lines[0].text.lower() and "payment" in lines[-1].text.lower()
    assert all(ln.box[0] < ln.box[2] <= 900 and ln.box[1] < ln.box[3] <= 320 for ln in lines)
    tops = [ln.box[1] for ln in lines]
    assert tops == sorted(tops)


@needs_ocr
@pytest.mark.parametrize("fmt,name", [("PNG", "shot.png"), ("JPEG", "photo.jpg"), ("WEBP", "page.webp"),
                                      ("TIFF", "scan.tif")])
def test_each_image_format_loads_as_a_page_with_its_ocr_text(fmt, name):
    img = draw(PAGE)
    doc = load_bytes(encoded(img, fmt), name, options=INLINE)
    assert isinstance(doc, ImageDocument) and doc.format == "image" and not doc.warnings
    assert doc.frames == [img.size] and doc.page_ranges == [(0, len(doc.source))]
    assert read_most(doc.source, " ".join(PAGE))
    assert isinstance(doc.document, Document) and read_most(doc.document.source, " ".join(PAGE))
    assert all(b.page == 1 for b in doc.document.blocks)


@needs_ocr
def test_a_multi_page_tiff_is_several_pages_each_with_its_text(tmp_path):
    frames = [draw(["The first page speaks of apples."]), draw(["The second page speaks of boats."], (700, 200)),
              draw(["The third page speaks of candles."], (500, 700))]
    data = encoded(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    path = tmp_path / "scan.tiff"
    path.write_bytes(data)
    doc = load(path)  # from its file, read in a child process as any untrusted input
    assert isinstance(doc, ImageDocument) and doc.frames == [f.size for f in frames] and doc.data == str(path.resolve())
    for (a, b), word in zip(doc.page_ranges, ("apples", "boats", "candles")):
        assert word in doc.source[a:b].lower()
    assert [b.page for b in doc.document.blocks] == [1, 2, 3]
    r = render(doc, "glyph-en")
    assert len(r.pages) == 3 and [p.source_range for p in r.pages] == doc.page_ranges
    assert r.text_tokens > 15 and all(p.text_tokens > 3 for p in r.pages)
    with pytest.raises(InputError, match="3 pages .frames., over the limit of 2"):
        load_bytes(data, "scan.tiff", options=LoadOptions(limits=Limits(max_pages=2)))


# ---- pages fitted into θ -------------------------------------------------------------------------
def test_pages_are_fitted_into_the_theta_page_keeping_their_aspect_never_enlarged():
    big = Image.new("RGB", (3000, 1500), "white")
    ImageDraw.Draw(big).rectangle((0, 0, 1499, 749), fill=(0, 0, 255))  # the top left quarter blue
    small = Image.new("RGB", (200, 120), (255, 0, 0))
    tall = Image.new("RGB", (1000, 5000), "white")
    data = encoded(big, "PNG", save_all=False)
    cfg = load_config("glyph-en")
    pw, ph = cfg.page_px
    doc = load_bytes(data, "big.png", options=NO_OCR)
    r = render(doc, cfg)
    page = r.pages[0].image
    assert page.width == pw and abs(page.height - pw / 2) <= 1  # the width fills the page, aspect kept
    px = np.asarray(page)
    assert tuple(px[page.height // 4, page.width // 4]) == (0, 0, 255)  # the picture itself, scaled
    assert tuple(px[3 * page.height // 4, 3 * page.width // 4]) == (255, 255, 255)
    assert (r.pages[0].width, r.pages[0].height) == page.size
    c = count(doc, cfg)  # sizes without drawing: the same
    assert [(p.width, p.height) for p in c.pages] == [page.size] and c.vision_tokens == r.vision_tokens
    sharper = render(doc, cfg.with_overrides(["dpi=144"])).pages[0].image  # a larger θ page: a larger page
    assert sharper.width == 2 * pw
    assert render(load_bytes(encoded(small, "PNG"), "s.png", options=NO_OCR), cfg).pages[0].image.size == (200, 120)
    t = render(load_bytes(encoded(tall, "PNG"), "t.png", options=NO_OCR), cfg).pages[0].image
    assert t.height == ph and abs(t.width - ph / 5) <= 1


def test_orientation_transparency_and_deep_greys():
    img = Image.new("RGB", (300, 100), "white")
    ImageDraw.Draw(img).rectangle((0, 0, 49, 99), fill="black")  # a black band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: shown a quarter turn clockwise
    doc = load_bytes(encoded(img, "JPEG", exif=exif), "phone.jpg", options=NO_OCR)
    assert doc.frames == [(100, 300)]
    page = np.asarray(render(doc, count_text=False).pages[0].image)
    assert page[10, 50].max() < 60 and page[-10, 50].min() > 200  # the band is at the top now
    clear = Image.new("RGBA", (120, 80), (0, 0, 0, 0))
    ImageDraw.Draw(clear).rectangle((0, 0, 59, 79), fill=(200, 0, 0, 255))
    page = np.asarray(render(load_bytes(encoded(clear, "PNG"), "a.png", options=NO_OCR), count_text=False)
                      .pages[0].image)
    assert tuple(page[40, 100]) == (255, 255, 255) and tuple(page[40, 10]) == (200, 0, 0)  # clear is white
    grey = Image.fromarray(np.full((40, 60), 40000, dtype=np.uint16))  # 16-bit
    page = np.asarray(render(load_bytes(encoded(grey, "PNG"), "g.png", options=NO_OCR), count_text=False)
                      .pages[0].image)
    assert abs(int(page[20, 30, 0]) - round(40000 / 65535 * 255)) <= 1
    floats = Image.fromarray(np.full((40, 60), 0.5, dtype=np.float32), "F")  # a TIFF of floats from 0 to 1
    page = np.asarray(render(load_bytes(encoded(floats, "TIFF"), "f.tif", options=NO_OCR), count_text=False)
                      .pages[0].image)
    assert abs(int(page[20, 30, 0]) - 128) <= 1


# ---- untrusted input ----------------------------------------------------------------------------
def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size (a decompression bomb)."""
    data = bytearray(encoded(Image.new("1", (8, 8)), "PNG"))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def test_decompression_bombs_are_refused_before_decoding():
    with pytest.raises(InputError, match=r"bomb.png: 9000x9000 pixels, 81 megapixels, over the limit of 64; a "
                                         "decompression bomb"):
        load_bytes(png_claiming(9000, 9000), "bomb.png")
    with pytest.raises(InputError, match=r"huge.png: over 89 megapixels, over the limit of 64; a decompression bomb"):
        load_bytes(png_claiming(100_000, 100_000), "huge.png")
    with pytest.raises(InputError, match="over the limit of 1;"):
        load_bytes(encoded(Image.new("RGB", (1200, 1000)), "PNG"), "x.png",
                   options=LoadOptions(limits=Limits(max_raster_pixels=1_000_000)))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "TIFF"])
def test_truncated_and_corrupt_images_are_one_clear_error(fmt):
    data = encoded(draw(PAGE), fmt)
    with pytest.raises(InputError, match=r"^cut\.img: not a readable image, corrupt or truncated \(") as e:
        load_bytes(data[: len(data) // 2], "cut.img", "image", options=NO_OCR)
    assert "\n" not in str(e.value)
    with pytest.raises(InputError, match="junk.png: not a readable PNG, JPEG, WebP or TIFF image"):
        load_bytes(b"junk" * 10, "junk.png")
    with pytest.raises(InputError, match=r"bad.png: not a readable image, corrupt or truncated \(Truncated"):
        load_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 10, "bad.png")
    with pytest.raises(InputError, match="not a readable PNG, JPEG, WebP or TIFF"):  # no other decoder is tried
        load_bytes(encoded(Image.new("RGB", (20, 20)), "GIF"), "anim.png")
    with pytest.raises(InputError, match="is empty"):
        load_bytes(b"", "empty.png")


@needs_ocr
def test_ocr_runs_in_a_child_under_the_time_limit():
    with pytest.raises(InputError, match="reading an image page took longer than 0.05 s"):
        load_bytes(encoded(draw(PAGE), "PNG"), "slow.png", options=LoadOptions(time_limit=0.05))


def test_without_the_ocr_extra_images_pass_through_with_a_warning(monkeypatch):
    monkeypatch.setattr(ocr, "available", lambda: False)
    doc = load_bytes(encoded(draw(PAGE), "PNG"), "shot.png")
    assert isinstance(doc, ImageDocument) and doc.document is None and doc.source == "\n"
    assert doc.warnings == ["shot.png: an image has no text layer, so no text tokens are counted (install "
                            "glyphpress[ocr] to read it with RapidOCR)"]
    r = render(doc, "glyph-en")
    assert len(r.pages) == 1 and r.pages[0].image.size == (595, round(595 * 320 / 900))
    with pytest.raises(InputError, match="shot.png: an image joins a bundle as the text OCR reads on it"):
        bundle([doc, "notes"], ["shot.png", "notes.txt"])


def test_images_are_known_by_suffix_or_by_their_first_bytes():
    png = encoded(Image.new("RGB", (10, 10)), "PNG")
    for name in ("a.png", "b.JPG", "c.jpeg", "d.webp", "e.tif", "f.TIFF"):
        assert detect_format(name) == "image"
    assert detect_format("stdin", png[:16]) == "image"
    assert detect_format("notes.txt", b"RIFF\0\0\0\0WEBPVP8 ") == "image"
    assert detect_format("stdin", b"plain words") == "text" and detect_format("x.md", png[:16]) == "markdown"
    assert isinstance(load_bytes(png, "stdin", options=NO_OCR), ImageDocument)


# ---- scanned PDFs -------------------------------------------------------------------------------
def scanned_pdf(pages: list[list[str]]) -> bytes:
    """A PDF whose pages are only pictures of text (as a scanner makes them): no text layer."""
    import fpdf

    pdf = fpdf.FPDF(format="A4")
    for lines in pages:
        pdf.add_page()
        buf = io.BytesIO()
        draw(lines, (1100, 500), px=30, title_px=60 if len(lines) > 1 else None).save(buf, "PNG")
        pdf.image(buf, x=10, y=10, w=190)
    return bytes(pdf.output())


SCAN = [["Minutes of the Garden Club", "", "The club met on Tuesday to plan the spring fair.",
         "Members agreed to sell seedlings and honey."], ["Treasurer reports twelve pounds in the box."]]


@needs_ocr
@needs_fpdf
def test_a_scanned_pdf_gets_an_ocr_text_layer_in_both_modes():
    data = scanned_pdf(SCAN)
    doc = load_bytes(data, "scan.pdf", options=INLINE)  # rerender: a Document of the lines read
    assert isinstance(doc, Document) and doc.format == "pdf"
    assert doc.warnings == ["scan.pdf: no text layer: text read by OCR (it may misread)"]
    assert read_most(doc.source, " ".join(SCAN[0] + SCAN[1]))
    heads = [b for b in doc.blocks if b.kind == m.HEADING]
    assert len(heads) == 1 and "garden" in heads[0].text.lower() and heads[0].page == 1
    paras = [b for b in doc.blocks if b.kind == m.PARAGRAPH]
    assert [b.page for b in paras] == [1, 2]  # the page's two lines rejoined into one paragraph
    assert "spring fair" in paras[0].text.lower() and "honey" in paras[0].text.lower()
    x0, top, x1, bottom = paras[0].box  # in points on the A4 page
    assert 20 < x0 < x1 < 595 and 20 < top < bottom < 300
    rendered = render(doc, "glyph-en")
    assert rendered.text_tokens > 30

    raster = load_bytes(data, "scan.pdf", options=LoadOptions(pdf_mode="raster", dpi=50, time_limit=None))
    assert isinstance(raster, RasterDocument) and raster.warnings == [
        "scan.pdf: no text layer: text read by OCR (it may misread)"]
    (a, b), (c, d) = raster.page_ranges
    assert b == c and d == len(raster.source)
    assert "spring" in raster.source[a:b].lower() and "treasurer" in raster.source[c:d].lower()
    assert raster.source == doc.source  # the same text, counted the same way
    r = render(raster, "glyph-en")
    assert [p.source_range for p in r.pages] == raster.page_ranges and r.pages[1].text_tokens > 3


@needs_ocr
@needs_fpdf
def test_a_scanned_pdf_is_read_by_ocr_in_a_child_process():
    data = scanned_pdf(SCAN[1:])
    doc = load_bytes(data, "scan.pdf")  # the default time limit: each page read in a child
    assert isinstance(doc, Document) and "treasurer" in doc.source.lower()
    with pytest.raises(InputError, match="scan.pdf: reading a page with OCR took longer than 0.05 s"):
        load_bytes(data, "scan.pdf", options=LoadOptions(time_limit=0.05, pdf_mode="raster"))


@needs_fpdf
def test_a_scanned_pdf_without_the_ocr_extra_is_raster_pages_with_a_warning(monkeypatch):
    monkeypatch.setattr(ocr, "available", lambda: False)
    data = scanned_pdf(SCAN[1:])
    doc = load_bytes(data, "scan.pdf")
    assert isinstance(doc, RasterDocument) and doc.warnings == [
        "scan.pdf: no text layer, rendered as raster pages (install glyphpress[ocr] to read it with RapidOCR)"]
    raster = load_bytes(data, "scan.pdf", options=LoadOptions(pdf_mode="raster"))
    assert not raster.source.strip() and "no text layer, so no text tokens are counted" in raster.warnings[0]


@needs_ocr
def test_an_image_joins_a_bundle_as_its_ocr_text():
    img = load_bytes(encoded(draw(PAGE), "PNG"), "shot.png", options=INLINE)
    b = bundle([img, "some notes"], ["shot.png", "notes.txt"])
    assert [name for name, _, _ in b.parts] == ["shot.png", "notes.txt"]
    a, z = b.parts[0][1:]
    assert read_most(b.source[a:z], " ".join(PAGE))


def test_a_budget_fits_images_by_making_the_theta_page_smaller():
    from glyphpress.vlm.budget import plan
    from glyphpress.vlm.registry import model_spec

    doc = load_bytes(encoded(Image.new("RGB", (3000, 4000), "white"), "PNG"), "photo.png", options=NO_OCR)
    spec = model_spec("zai-org/Glyph")
    full = plan(doc, spec, budget=100_000)
    assert full.step == "model preset"
    tight = plan(doc, spec, budget=full.vision_tokens - 1)
    assert tight.step.startswith("dpi") and tight.vision_tokens < full.vision_tokens


def test_an_image_file_that_changes_after_reading_is_not_drawn(tmp_path):
    path = tmp_path / "shot.png"
    path.write_bytes(encoded(Image.new("RGB", (400, 300), "white"), "PNG"))
    doc = load(path, options=NO_OCR)
    path.write_bytes(encoded(Image.new("RGB", (4000, 3000), "white"), "PNG"))
    with pytest.raises(InputError, match="shot.png: the file changed since it was read"):
        render(doc, count_text=False)
