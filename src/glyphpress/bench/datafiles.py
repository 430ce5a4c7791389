"""Reading a benchmark's local data files: JSON, JSONL and Parquet files, members of a zip archive, and the
local Hugging Face hub cache, with the untrusted-input care a downloaded file deserves (malformed rows are
errors naming the file and row, Parquet needs pyarrow). Shared by the loaded task families (LongBench, MRCR).
"""

from __future__ import annotations

import json
import os
import random
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import GlyphpressError
from .task import Options


@dataclass(frozen=True)
class DataFile:
    """A local data file, or a member of a zip archive."""

    path: Path
    member: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.member}" if self.member else str(self.path)

    @property
    def name(self) -> str:
        return Path(self.member).name if self.member else self.path.name

    @property
    def parquet(self) -> bool:
        return self.name.lower().endswith(".parquet")


def pyarrow_parquet():
    """``pyarrow.parquet``, or a GlyphpressError saying how to get it."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise GlyphpressError("reading Parquet files needs pyarrow: pip install pyarrow") from None
    return pq


def pyarrow_missing(files: list[DataFile]) -> str | None:
    """Why these files cannot be read here (Parquet without pyarrow), else None."""
    if any(f.parquet for f in files):
        try:
            pyarrow_parquet()
        except GlyphpressError as e:
            return str(e)
    return None


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def read_records(source: DataFile) -> Iterator[tuple[str, dict]]:
    """``(where, record)`` for each record of a JSONL, JSON (an array, or one object per line) or Parquet file
    (a zip member: JSONL or JSON);
    ``where`` names the file and line (JSONL, 1-based), item (JSON array, 1-based) or row (Parquet, 0-based).
    Unreadable input raises a GlyphpressError naming the file and the place."""
    if source.parquet:
        pq = pyarrow_parquet()
        try:
            table = pq.read_table(source.path)
        except (OSError, ValueError) as e:  # pyarrow's errors derive from these
            raise GlyphpressError(f"{source}: not a readable Parquet file ({first_line(e)})") from None
        for i, row in enumerate(table.to_pylist()):
            yield f"{source} row {i}", row
        return
    try:
        if source.member:
            with zipfile.ZipFile(source.path) as z:
                text = z.read(source.member).decode("utf-8")
        else:
            text = source.path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise GlyphpressError(f"{source}: not UTF-8 text; is it a JSONL, JSON or Parquet file?") from None
    except (OSError, zipfile.BadZipFile) as e:
        raise GlyphpressError(f"{source}: cannot read it ({first_line(e)})") from None
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except ValueError as e:
            raise GlyphpressError(f"{source}: not valid JSON ({first_line(e)})") from None
        for i, item in enumerate(items, 1):
            if not isinstance(item, dict):
                raise GlyphpressError(f"{source} item {i}: not a JSON object")
            yield f"{source} item {i}", item
        return
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as e:
            raise GlyphpressError(f"{source} line {lineno}: not valid JSON ({first_line(e)}); "
                                  "a JSONL file has one JSON object per line") from None
        if not isinstance(record, dict):
            raise GlyphpressError(f"{source} line {lineno}: not a JSON object")
        yield f"{source} line {lineno}", record


def choose(total: int, n: int | None, seed: int) -> list[int]:
    """The indices of the records a run takes: all of them when ``n`` is None, <= 0 or >= ``total``; else the
    first ``n`` when ``seed`` is 0, else ``sorted(random.Random(seed).sample(range(total), n))`` (file order)."""
    if not n or n <= 0 or n >= total:
        return list(range(total))
    if seed == 0:
        return list(range(n))
    return sorted(random.Random(seed).sample(range(total), n))


def hub_snapshots(repos: tuple[str, ...]) -> list[Path]:
    """Snapshot folders of these dataset repositories in the local Hugging Face hub cache (``$HF_HUB_CACHE``, else
    ``$HF_HOME/hub``, else ``$XDG_CACHE_HOME/huggingface/hub`` or ``~/.cache/huggingface/hub``, as huggingface_hub
    places it), the snapshot ``refs/main`` names first, then the newest first."""
    cache = os.environ.get("HF_HUB_CACHE")
    if not cache:
        home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
        cache = os.path.join(home, "hub")
    out: list[Path] = []
    for repo in repos:
        folder = Path(cache).expanduser() / ("datasets--" + repo.replace("/", "--"))
        try:
            snaps = sorted((p for p in (folder / "snapshots").iterdir() if p.is_dir()),
                           key=lambda p: p.stat().st_mtime, reverse=True)
        except OSError:
            continue
        try:
            main = (folder / "refs" / "main").read_text(encoding="utf-8").strip()
        except OSError:
            main = ""
        out += sorted(snaps, key=lambda p: p.name != main)  # stable: main first, the rest newest first
    return out


def data_root(options: Options, env: str) -> tuple[Path | None, str]:
    """Where the user pointed (``--data``, else the environment variable) and how to name it in a message."""
    if options.data is not None:
        return Path(options.data).expanduser(), str(options.data)
    if os.environ.get(env):
        return Path(os.environ[env]).expanduser(), f"${env}={os.environ[env]}"
    return None, ""


def locate(options: Options, env: str, hubs: tuple[str, ...], find: Callable[[Path], list[DataFile] | None],
           what: str, absent: str, get: str,
           check: Callable[[Path, str], str | None] | None = None) -> tuple[list[DataFile] | None, str]:
    """A task's files, or None and a one-line message: from where the user pointed (``--data``, else ``env``),
    else from the local hub cache of ``hubs``. ``find`` looks in a folder or file (None: nothing of the kind
    there); ``check(root, shown)`` may refuse a file given that belongs to another task; ``what`` names the
    benchmark, ``absent`` what a place lacked, ``get`` how to obtain the data."""
    root, shown = data_root(options, env)
    if root is None:
        for snap in hub_snapshots(hubs):
            files = find(snap)
            if files:
                return files, ""
        return None, f"no {what} data found: {get}"
    if not root.exists():
        return None, f"{shown} does not exist: {get}"
    files = find(root)
    if files is None:
        return None, f"{shown} has no {absent}: {get}"
    why = check(root, shown) if check else None
    return (None, why) if why else (files, "")

