"""The raster's native pixel loops against plain Python restatements of what they promise, and their
refusal of buffers that do not fit. (Whole pages drawn with and without them: test_raster.py.)"""

import numpy as np
import pytest

from glyphpress.raster import draw


@pytest.fixture
def native():
    assert draw.native is not None  # setup.py's extension: pip install -e . builds it
    return draw.native


def test_lookup_maps_each_pixel_of_the_cropped_page_through_the_table(native):
    rng = np.random.default_rng(1)
    H, W, w, h = 23, 37, 30, 19
    cov = rng.integers(0, 256, (H, W), dtype=np.uint8)
    own = rng.integers(0, 3, (H, W), dtype=np.uint8)
    rgbx = rng.integers(0, 2**32, 3 * 256, dtype=np.uint32)
    out = np.zeros(w * h, dtype=np.uint32)
    native.lookup(out, cov, own, rgbx, w, h, W)
    want = [int(rgbx[int(own[y, x]) * 256 + int(cov[y, x])]) for y in range(h) for x in range(w)]
    assert out.tolist() == want
    grey = rng.integers(0, 256, 256, dtype=np.uint8)  # one colour, one byte a pixel, no colour plane
    out = np.zeros(w * h, dtype=np.uint8)
    native.lookup(out, cov, None, grey, w, h, W)
    assert out.tolist() == [int(grey[int(cov[y, x])]) for y in range(h) for x in range(w)]


@pytest.mark.parametrize("bad", ["out too short", "crop wider than the page", "table not whole colours",
                                 "colour plane too short"])
def test_lookup_refuses_buffers_that_do_not_fit(native, bad):
    cov, own = np.zeros((10, 10), dtype=np.uint8), np.zeros((10, 10), dtype=np.uint8)
    out, table = np.zeros(100, dtype=np.uint32), np.zeros(256, dtype=np.uint32)
    w, h = 10, 10
    if bad == "out too short":
        out = out[:99]
    elif bad == "crop wider than the page":
        w, h, out = 11, 9, out[:99]
    elif bad == "table not whole colours":
        table = table[:255]
    else:
        own = own[:5]
    with pytest.raises(ValueError):
        native.lookup(out, cov, own, table, w, h, 10)


def place_reference(H, W, strips, owner, order, height, over):
    """What ``place`` promises, pixel by pixel: (coverage, colours, marks, records as sets per pixel)."""
    cov, own, mark = (np.zeros((H, W), dtype=np.int64) for _ in range(3))
    records = []
    for r, top in order:
        for y in range(height):
            for x in range(strips.shape[1]):
                v, k, py = int(strips[r, x, y]), int(owner[r, x]), top + y
                if not v or not 0 <= py < H:
                    continue
                d = int(cov[py, x])
                if d:
                    if own[py, x] != k or mark[py, x]:
                        if not mark[py, x]:
                            records.append((py * W + x, int(own[py, x]), d))
                        records.append((py * W + x, k, v))
                        mark[py, x] = 1
                    if over:
                        t = (255 - d) * (255 - v)
                        cov[py, x] = 255 - ((t + (t >> 8) + 0x80) >> 8)
                    else:
                        cov[py, x] = max(d, v)
                else:
                    cov[py, x] = v
                own[py, x] = k
    return cov, own, mark, records


@pytest.mark.parametrize("over, stored", [(False, 16), (True, 16), (False, 13)])  # 13: no 8-row words
def test_place_puts_coloured_strips_and_records_where_colours_meet(native, over, stored):
    rng = np.random.default_rng(7 + over)
    H, W, rows, width, height = 30, 25, 6, 20, 12
    strips = np.zeros((rows, width, stored), dtype=np.uint8)
    ink = rng.random((rows, width, height)) < 0.4
    strips[:, :, :height][ink] = rng.integers(1, 256, int(ink.sum()))
    strips[1, 3:9] = 0  # columns without ink
    owner = rng.integers(0, 4, (rows, width), dtype=np.uint8)
    # overlapping lines, one partly above the page, one partly below it, one strip twice, two wholly off it
    order = np.array([[0, 0], [2, 8], [1, 4], [3, -5], [4, 22], [5, 10], [2, 14], [1, -2**63], [0, 2**62]],
                     dtype=np.int64)
    cov, own, mark = (np.zeros((H, W), dtype=np.uint8) for _ in range(3))
    made = native.place(cov, own, mark, W, strips, owner, order, width, stored, height, over)
    made = np.frombuffer(made, dtype=np.int64).reshape(-1, 3)
    want_cov, want_own, want_mark, want_records = place_reference(H, W, strips, owner, order.tolist(), height, over)
    assert np.array_equal(cov, want_cov) and np.array_equal(mark, want_mark)
    inked = want_cov > 0  # a pixel's colour matters only under ink
    assert np.array_equal(own[inked], want_own[inked])
    assert sorted(made.tolist()) == sorted(list(r) for r in want_records)  # in any order
    assert len(want_records) > 20 and want_mark.sum() > 5  # colours did meet


@pytest.mark.parametrize("bad", ["strip out of range", "planes differ", "height past the stored rows"])
def test_place_refuses_buffers_that_do_not_fit(native, bad):
    cov, own, mark = (np.zeros((8, 8), dtype=np.uint8) for _ in range(3))
    strips, owner = np.ones((2, 8, 8), dtype=np.uint8), np.zeros((2, 8), dtype=np.uint8)
    order, height = np.array([[0, 0], [1, 4]], dtype=np.int64), 8
    if bad == "strip out of range":
        order[1, 0] = 2
    elif bad == "planes differ":
        own = own[:4]
    else:
        height = 9
    with pytest.raises(ValueError):
        native.place(cov, own, mark, 8, strips, owner, order, 8, 8, height, False)


def test_sizes_whose_products_overflow_are_refused(native):
    """Products of hostile sizes would wrap around and pass a length check: they are refused first."""
    with pytest.raises(ValueError):
        native.lookup(bytearray(4), bytes(4), None, bytes(256), 2**62 + 1, 4, 2**62 + 1)
    with pytest.raises(ValueError):
        native.lookup(bytearray(4), bytes(4), None, bytes(256), 1, 2**62 + 1, 4)
    page = np.zeros((4, 4), dtype=np.uint8)
    with pytest.raises(ValueError):
        native.place(page, page.copy(), page.copy(), 4, bytes(16), bytes(4), np.zeros(2, np.int64), 2**32, 2**32, 1,
                     False)
