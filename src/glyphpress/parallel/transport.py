"""What travels between this process and the render workers: laid-out pages going out (glyph ids as
keys any process understands, narrow integer types), and drawn pages coming back, in one memory file per
range whose descriptor is passed over the worker's pipe (Linux: greyscale pages are mapped, not copied;
colour pages are copied once), else pickled."""

from __future__ import annotations

import dataclasses
import mmap
import os
from multiprocessing import reduction
from typing import Any

import numpy as np
from PIL import Image

from ..layout.engine import LayoutEngine
from ..layout.model import PageLayout

SHARE_PIXELS = hasattr(os, "memfd_create") and reduction.HAVE_SEND_HANDLE


def pack(lay: PageLayout, engine: LayoutEngine) -> PageLayout:
    """A page layout to send to a worker: glyph ids as keys any process understands, narrow types."""
    return dataclasses.replace(lay, gid=engine.glyphs.portable(lay.gid).astype(np.int32),
                               gline=lay.gline.astype(np.min_scalar_type(len(lay.line_base))))


def unpack(lay: PageLayout, engine: LayoutEngine) -> PageLayout:
    return dataclasses.replace(lay, gid=engine.glyphs.own(lay.gid), gline=lay.gline.astype(np.int64))


class MemoryFile:
    """A range's pages, one after another in a new memory file whose descriptor goes to the parent:
    nothing is copied there, and the memory lives as long as the parent's images."""

    def __init__(self) -> None:
        self.fd = os.memfd_create("glyphpress-pages", os.MFD_CLOEXEC)
        self.size = 0

    def add(self, pixels: np.ndarray | Image.Image) -> tuple[str, tuple[int, int], int, int]:
        """Append a page; returns its mode, size, and where its bytes are in the file."""
        if isinstance(pixels, np.ndarray):
            mode, size, data = "L", (pixels.shape[1], pixels.shape[0]), memoryview(pixels).cast("B")
        else:
            mode, size, data = pixels.mode, pixels.size, memoryview(pixels.tobytes())
        offset, n = self.size, len(data)
        while data:
            data = data[os.write(self.fd, data):]
        self.size += n
        return mode, size, offset, n

    def send(self, conn) -> None:
        reduction.send_handle(conn, self.fd, os.getppid())

    def close(self) -> None:
        os.close(self.fd)


def receive_pages(conn, pages: list[tuple[int, Any]]) -> list[tuple[int, Image.Image]]:
    """The images of a range's pages, from the memory file whose descriptor follows the message."""
    fd = reduction.recv_handle(conn)
    try:
        mem = memoryview(mmap.mmap(fd, 0, prot=mmap.PROT_READ))
    finally:
        os.close(fd)
    out = []
    for index, (mode, size, offset, n) in pages:
        out.append((index, Image.frombuffer(mode, size, mem[offset: offset + n], "raw", mode, 0, 1)))
    return out  # "L" images map the memory; others are copies
