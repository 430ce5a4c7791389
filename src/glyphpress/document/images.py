"""Images as pages: PNG, JPEG, WebP and TIFF (every frame of a multi-page TIFF a page) - screenshots,
photographed and scanned pages - read by Pillow, with a text layer read by OCR (``ocr.py``) for token
accounting, the text-only baseline and ``glyphpress extract``.

An image is untrusted input: only these four formats are opened (Pillow tries no other decoder), each frame's
size is checked against the pixel limit before anything is decoded (decompression bombs), the number of
frames against the page limit, and the frames are decoded (a corrupt or truncated file is one clear error),
read by OCR and later drawn in a child process under the parse time limit, each frame within it.

Pages and θ: a page is its image scaled into θ's page (its width and height in pixels at θ's dpi), keeping
the aspect ratio, and never enlarged: an image smaller than the page stays as it is, since enlarging adds
vision tokens and no detail (a VLM's image processor enlarges what is under its minimum itself). The page is
not padded to θ's page either: padding would be paid for in vision tokens and carry nothing. A photo's EXIF
orientation is applied, transparency is laid on white, and 16-bit greys are brought to 8 bits.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from PIL import Image, ImageOps

from ..errors import InputError
from .limits import stream_with_time_limit
from .model import Document

if TYPE_CHECKING:
    from ..config import RenderConfig
    from .ocr import Line
    from .pdf import Limits

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".tif", ".tiff")
PIL_FORMATS = ["PNG", "JPEG", "WEBP", "TIFF"]  # the only decoders Pillow may try (MPO is a JPEG with more frames)
MULTI_PAGE = ("TIFF",)  # every frame a page; other formats' further frames are an animation: the first is read
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")


def looks_like_image(head: bytes) -> bool:
    """Whether bytes start as a PNG, JPEG, WebP or TIFF file does."""
    return head.startswith(_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def fit(size: tuple[int, int], box: tuple[int, int] | None) -> tuple[int, int]:
    """An image's size scaled into ``box`` (keeping its aspect ratio, never enlarged); as it is without one."""
    w, h = size
    if box is None:
        return w, h
    scale = min(1.0, box[0] / w, box[1] / h)
    return max(1, round(w * scale)), max(1, round(h * scale))


@dataclass
class ImageDocument:
    """Images as pages, with the interface of a ``RasterDocument`` (name, source, page_ranges, sizes,
    images(), warnings, format): ``source`` is the text OCR read, one line a line, page after page (a newline
    a page without OCR), and ``page_ranges`` each page's part of it. ``frames`` are the images' own sizes;
    ``at(θ)`` gives the document fitted into θ's page, whose ``sizes`` are the pages' and whose ``images()``
    are drawn one at a time in a child process under ``time_limit`` (each) and ``memory_mb``. ``data`` is the
    file's bytes or its path. ``document`` is the OCR text as paragraphs (``extract``, bundles, the text-only
    baseline), None without OCR."""

    name: str
    source: str
    page_ranges: list[tuple[int, int]]
    frames: list[tuple[int, int]]
    data: bytes | str = field(repr=False, default=b"")
    box: tuple[int, int] | None = None  # θ's page in pixels: the pages fit in it
    time_limit: float | None = None
    memory_mb: int | None = None
    format: str = "image"
    warnings: list[str] = field(default_factory=list)
    document: Document | None = field(repr=False, default=None)

    @property
    def sizes(self) -> list[tuple[int, int]]:
        return [fit(s, self.box) for s in self.frames]

    def at(self, cfg: RenderConfig) -> ImageDocument:
        """The same pages fitted into θ ``cfg``'s page."""
        return replace(self, box=cfg.page_px)

    def images(self) -> Iterator[Image.Image]:
        for mode, size, raw in stream_with_time_limit(self.time_limit, self.name, _drawn, self.data, self.name,
                                                      self.frames, self.sizes, memory_mb=self.memory_mb):
            yield Image.frombytes(mode, size, raw)


def _open(data: bytes | str, name: str, max_pixels: int) -> Image.Image:
    """The image file opened (its header read, nothing decoded), as one of the four formats or an error."""
    try:
        with warnings.catch_warnings():  # (not thread-safe: it runs in a reading child but for time_limit=None)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data) if isinstance(data, bytes) else data, formats=PIL_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"{name}: over {Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels, over the limit of "
                         f"{max_pixels / 1e6:.0f}; a decompression bomb?") from None
    except Image.UnidentifiedImageError:
        raise InputError(f"{name}: not a readable PNG, JPEG, WebP or TIFF image") from None
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise InputError(f"{name}: not a readable image, corrupt or truncated ({_one_line(e)})") from None


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _frame_count(im: Image.Image, name: str, max_pages: int) -> int:
    n = getattr(im, "n_frames", 1) if im.format in MULTI_PAGE else 1
    if n > max_pages:
        raise InputError(f"{name}: {n} pages (frames), over the limit of {max_pages} (raise it with --max-pages)")
    return n


def _decoded(im: Image.Image, name: str, index: int, target: tuple[int, int] | None = None) -> Image.Image:
    """Frame ``index`` decoded as RGB, upright (EXIF orientation), transparency on white; scaled to
    ``target`` if given."""
    try:
        im.seek(index)
        if target is not None and im.format == "JPEG":
            im.draft(None, _stored(im, target))  # decode at a smaller scale where that is enough
        im.load()
        img = ImageOps.exif_transpose(im)
        img = _rgb(img)
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, Image.DecompressionBombError) as e:
        where = f" (page {index + 1})" if index else ""
        raise InputError(f"{name}: not a readable image{where}, corrupt or truncated ({_one_line(e)})") from None
    if target is not None and img.size != target:
        img = img.resize(target, Image.Resampling.LANCZOS)
    return img


def _stored(im: Image.Image, size: tuple[int, int]) -> tuple[int, int]:
    """A size as the file stores it (EXIF orientations 5-8 turn the image a quarter)."""
    return (size[1], size[0]) if im.getexif().get(0x0112, 1) in (5, 6, 7, 8) else size


def _rgb(img: Image.Image) -> Image.Image:
    if img.mode.startswith("I") or img.mode == "F":  # 16- or 32-bit greys (or floats) brought to 8 bits
        import numpy as np

        a = np.asarray(img).astype(np.float64)
        if img.mode.startswith("I;16"):
            top = 65535.0
        else:  # 32-bit ints or floats: 16-bit values, 8-bit ones or (floats) 0 to 1
            top = 65535.0 if a.max() > 255 else 1.0 if img.mode == "F" and a.max() <= 1 else 255.0
        img = Image.fromarray((np.clip(a, 0, top) * (255.0 / top)).round().astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _read(data: bytes | str, name: str, max_pages: int, max_pixels: int, ocr: bool) -> Iterator[tuple]:
    """In the reading child: first the number of frames, every frame's size checked before any is decoded;
    then each frame decoded (and read by OCR): its size, and its lines or None."""
    im = _open(data, name, max_pixels)
    with im:
        n = _frame_count(im, name, max_pages)
        for i in range(n):
            try:
                im.seek(i)
            except (OSError, EOFError, ValueError) as e:
                raise InputError(f"{name}: not a readable image (page {i + 1}), corrupt ({_one_line(e)})") from None
            w, h = im.size
            if w * h > max_pixels:
                page = f" page {i + 1}" if n > 1 else ""
                raise InputError(f"{name}:{page} {w}x{h} pixels, {w * h / 1e6:.0f} megapixels, over the limit of "
                                 f"{max_pixels / 1e6:.0f}; a decompression bomb?")
        yield getattr(im, "n_frames", 1) if im.format not in MULTI_PAGE else 1  # an animation's frames, or 1
        for i in range(n):
            img = _decoded(im, name, i)
            lines = None
            if ocr:
                from .ocr import read_lines

                try:
                    lines = read_lines(img)
                except InputError as e:
                    raise InputError(f"{name}: page {i + 1}: {e}") from None
            yield img.size, lines
            del img


def _drawn(data: bytes | str, name: str, frames: list[tuple[int, int]], sizes: list[tuple[int, int]]
           ) -> Iterator[tuple]:
    """In the drawing child: each frame decoded and scaled to its page's size, as (mode, size, bytes); a frame
    whose size is not the one read before (the file changed) is an error, never decoded."""
    im = _open(data, name, max(w * h for w, h in frames))
    with im:
        for i, (frame, size) in enumerate(zip(frames, sizes)):
            try:
                im.seek(i)
            except (OSError, EOFError, ValueError):
                raise InputError(f"{name}: the file changed since it was read") from None
            if im.size not in (frame, frame[::-1]):
                raise InputError(f"{name}: the file changed since it was read")
            img = _decoded(im, name, i, size)
            yield img.mode, img.size, img.tobytes()
            del img


def load_image(data: bytes | str, name: str, limits: Limits | None = None, ocr: bool = True,
               time_limit: float | None = None, memory_mb: int | None = None) -> ImageDocument:
    """An image file (its bytes or path) as pages, each frame checked and decoded in a child process (within
    ``time_limit`` seconds each, ``memory_mb`` of memory) and, with ``ocr`` and the ocr extra installed, its
    text read. Without the extra the pages pass through with a warning that they have no text layer."""
    from . import ocr as ocr_mod
    from .pdf import Limits

    limits = limits or Limits()
    if isinstance(data, bytes) and not data:
        raise InputError(f"{name}: is empty, nothing to render")
    can_read = ocr and ocr_mod.available()
    items = stream_with_time_limit(time_limit, name, _read, data, name, limits.max_pages, limits.max_raster_pixels,
                                   can_read, step="reading an image page", memory_mb=memory_mb)
    extra = next(items)
    frames: list[tuple[int, int]] = []
    pages: list[list[Line]] = []
    for size, lines in items:
        frames.append(size)
        pages.append(lines or [])
    doc_warnings = []
    if extra > 1:
        doc_warnings.append(f"{name}: {extra} frames, only the first read (only a TIFF's frames are pages)")
    if not can_read:
        why = "OCR turned off" if not ocr else ocr_mod.INSTALL_HINT
        doc_warnings.append(f"{name}: an image has no text layer, so no text tokens are counted ({why})")
    document = ocr_mod.to_document(name, pages, "image") if can_read else None
    source = document.source if document is not None else "\n" * len(frames)
    ranges, pos = [], 0
    for lines in pages:
        k = len(ocr_mod.page_text(lines)) if can_read else 1
        ranges.append((pos, pos + k))
        pos += k
    return ImageDocument(name, source, ranges, frames, data, None, time_limit, memory_mb, "image", doc_warnings,
                         document)
