"""Per-code-point tables, stored sparsely.

A text meets few Unicode blocks, so tables keep values only for the blocks of 256 code points that
were met: ``CodepointSlots`` gives each such block a row, and every table sharing the slots stores one
value per (row, code point in block). A chunk's code points become slot numbers once
(``slots.of``), and each table is then one gather (``table.values[slot]``). Memory grows with the
blocks a text uses (about 2 KB per block and table of float64), not with the size of Unicode.
"""

from __future__ import annotations

import numpy as np

BLOCK_BITS = 8
BLOCK = 1 << BLOCK_BITS
_CODESPACE = 0x110000


class CodepointSlots:
    """Which block of 256 code points has which row; row 0 is a shared row of defaults (never written)."""

    def __init__(self) -> None:
        self.row_of = np.zeros(_CODESPACE >> BLOCK_BITS, dtype=np.int32)
        self.rows = 1
        self._tables: list[SlotTable] = []

    def table(self, dtype, fill) -> SlotTable:
        t = SlotTable(self, dtype, fill)
        self._tables.append(t)
        return t

    def of(self, cps: np.ndarray) -> np.ndarray:
        """Slot numbers of ``cps`` (blocks never met are given rows first)."""
        hi = cps >> BLOCK_BITS
        rows = self.row_of[hi]
        if not rows.all():
            new = np.unique(hi[rows == 0])
            self.row_of[new] = np.arange(self.rows, self.rows + len(new), dtype=np.int32)
            self.rows += len(new)
            for t in self._tables:
                t._grow()
            rows = self.row_of[hi]
        return (rows.astype(np.int64) << BLOCK_BITS) | (cps & (BLOCK - 1))

    def slot(self, cp: int) -> int:
        return int(self.of(np.array([cp], dtype=np.int64))[0])


class SlotTable:
    """One value per code point, indexed by slot number (``values[slots.of(cps)]``)."""

    def __init__(self, slots: CodepointSlots, dtype, fill) -> None:
        self.slots, self.fill = slots, fill
        self.values = np.full(slots.rows << BLOCK_BITS, fill, dtype=dtype)

    def _grow(self) -> None:
        n = self.slots.rows << BLOCK_BITS
        if n > len(self.values):
            grown = np.full(max(n, 2 * len(self.values)), self.fill, dtype=self.values.dtype)
            grown[: len(self.values)] = self.values
            self.values = grown

    def __getitem__(self, cps: np.ndarray) -> np.ndarray:
        """Values of code points (a convenience; hot paths gather by slot)."""
        slot = self.slots.of(np.asarray(cps, dtype=np.int64))  # may grow the tables: first
        return self.values[slot]
