"""What a benchmark run keeps for the next one: rendered contexts and temperature-0 answers.

- ``Renders``: a context rendered with θ for one vision geometry: its pages as PNG files, each page's
  source range and lines (where each line starts and ends in the context, and its baseline), and the
  vision tokens. Kept under ``CACHE/renders/<θ hash>/<geometry>/<context hash>/``, written to a temporary
  folder and renamed into place, so a killed run never leaves a half-written render behind.
- ``Answers``: answers of deterministic requests (temperature 0) in SQLite (write-ahead log), keyed by a
  hash of everything the engine sees (engine URL, model, prompt texts, page image hashes, generation
  settings); empty and failed answers are never kept.

Without a cache folder both live in memory for the run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..config import RenderConfig
from ..errors import GlyphpressError
from ..tokens.vision import VisionModel


def digest(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else json.dumps(p, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def theta_hash(cfg: RenderConfig) -> str:
    return digest(cfg.to_dict())[:12]


@dataclass
class PageSet:
    """A context's pages under one θ and geometry."""

    theta_hash: str
    ranges: list[tuple[int, int]]  # each page's [start, end) in the context
    lines: list[list[tuple[int, int, float]]]  # each page's lines: (start, end of visible text, baseline y)
    vision_tokens: list[int]
    folder: Path | None = None
    pngs: list[bytes] = field(default_factory=list)  # in memory when there is no cache folder

    @property
    def pages(self) -> int:
        return len(self.ranges)

    def png(self, i: int) -> bytes:
        if self.pngs:
            return self.pngs[i]
        return (self.folder / f"page_{i + 1:04d}.png").read_bytes()

    def image(self, i: int):
        from PIL import Image

        with Image.open(io.BytesIO(self.png(i))) as im:
            return im.convert("RGB")

    def pages_with(self, spans: list[tuple[int, int]]) -> list[int]:
        """The pages showing any character of the spans."""
        return [i for i, (a, b) in enumerate(self.ranges) if any(s < b and e > a for s, e in spans)]

    def lines_with(self, i: int, spans: list[tuple[int, int]]) -> list[tuple[int, int, float]]:
        return [ln for ln in self.lines[i] if any(s < max(ln[1], ln[0] + 1) and e > ln[0] for s, e in spans)]


class Renders:
    def __init__(self, folder: Path | None):
        self.folder = folder / "renders" if folder else None
        self._memory: dict[tuple, PageSet] = {}
        self._lock = threading.Lock()

    def get(self, context: str, cfg: RenderConfig, geometry: VisionModel) -> PageSet:
        th = theta_hash(cfg)
        key = (th, geometry.name, digest(context)[:24])
        with self._lock:
            if key in self._memory:
                return self._memory[key]
        where = self.folder / key[0] / key[1] / key[2] if self.folder else None
        pages = _read(where, th) if where else None
        if pages is None:
            pages = _render(context, cfg, geometry, th)
            if where:
                try:
                    pages = _write(where, pages)
                except OSError as e:
                    raise GlyphpressError(f"cannot keep renders in the cache folder {self.folder}: {e}; give "
                                          "another --cache or --no-cache") from None
        with self._lock:
            if len(self._memory) > 64:
                self._memory.pop(next(iter(self._memory)))
            self._memory[key] = pages
        return pages


def _render(context: str, cfg: RenderConfig, geometry: VisionModel, th: str) -> PageSet:
    from ..content import Content
    from ..pipeline import renderer_for

    out = PageSet(th, [], [], [])
    for page, lay in renderer_for(cfg).pages(Content.of(context).flow(cfg), geometry):
        buf = io.BytesIO()
        page.image.save(buf, "PNG", compress_level=1)
        out.pngs.append(buf.getvalue())
        out.ranges.append(tuple(page.source_range))
        out.lines.append(list(zip(lay.line_start.tolist(), lay.line_end.tolist(), lay.line_base.tolist())))
        out.vision_tokens.append(page.vision_tokens)
    return out


def _read(where: Path, th: str) -> PageSet | None:
    try:
        meta = json.loads((where / "pages.json").read_text(encoding="utf-8"))
        return PageSet(th, [tuple(r) for r in meta["ranges"]], [[tuple(x) for x in ls] for ls in meta["lines"]],
                       meta["vision_tokens"], where)
    except (OSError, ValueError, KeyError):
        return None


def _write(where: Path, pages: PageSet) -> PageSet:
    where.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=where.parent, prefix=".tmp-"))
    try:
        for i, data in enumerate(pages.pngs):
            (tmp / f"page_{i + 1:04d}.png").write_bytes(data)
        meta = {"ranges": pages.ranges, "lines": pages.lines, "vision_tokens": pages.vision_tokens}
        (tmp / "pages.json").write_text(json.dumps(meta), encoding="utf-8")
        os.rename(tmp, where)  # atomic; fails if another worker got there first, whose copy is as good
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if _read(where, pages.theta_hash) is None:
            return pages
    return PageSet(pages.theta_hash, pages.ranges, pages.lines, pages.vision_tokens, where)


class Answers:
    """Temperature-0 answers, by request key."""

    def __init__(self, folder: Path | None):
        self._lock = threading.Lock()
        try:
            if folder is None:
                self._db = sqlite3.connect(":memory:", check_same_thread=False)
            else:
                folder.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(folder / "answers.sqlite", check_same_thread=False, timeout=30)
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL, "
                             "prompt_tokens INTEGER, completion_tokens INTEGER, latency_s REAL)")
            self._db.commit()
        except (OSError, sqlite3.Error) as e:
            raise GlyphpressError(f"cannot open the answer cache in {folder}: {e}; give another --cache or "
                                  "--no-cache") from None

    def get(self, key: str) -> tuple[str, int | None, int | None, float] | None:
        with self._lock:
            row = self._db.execute("SELECT answer, prompt_tokens, completion_tokens, latency_s FROM answers "
                                   "WHERE key = ?", (key,)).fetchone()
        return tuple(row) if row else None

    def put(self, key: str, answer: str, prompt_tokens: int | None, completion_tokens: int | None,
            latency_s: float) -> None:
        if not answer.strip():
            return
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)",
                             (key, answer, prompt_tokens, completion_tokens, latency_s))
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()
