"""Rendered documents on disk, under random ids, in the server's own data folder only. A document is
listed once its manifest is written (last, atomically); what a server killed mid-render left half-written
is removed when the next one starts. One server uses a data folder at a time (a lock file says so)."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from .. import manifest as manifest_mod
from ..errors import GlyphpressError

ID_RE = re.compile(r"^[0-9a-f]{32}$")
PAGE_RE = re.compile(r"^page_(\d{4,})\.(png|webp)$")


class Store:
    def __init__(self, root: str | Path, max_documents: int, lifetime_s: float):
        self.root = Path(root).resolve()
        try:
            (self.root / "documents").mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise GlyphpressError(f"cannot use {root} as the data folder: {e.strerror}") from None
        self.max_documents = max_documents
        self.lifetime_s = lifetime_s
        self._lock = threading.Lock()
        self._lockfile = _lock_folder(self.root)
        self.cleanup(unfinished_after=0)  # nothing is being written yet: a folder without manifest is debris

    def close(self) -> None:
        if self._lockfile is not None:
            self._lockfile.close()
            self._lockfile = None

    def new_id(self) -> str:
        return secrets.token_hex(16)

    def folder(self, doc_id: str) -> Path | None:
        """The folder of a finished document, or None (unknown id, bad id, or not finished)."""
        if not ID_RE.match(doc_id or ""):
            return None
        folder = self.root / "documents" / doc_id
        return folder if (folder / manifest_mod.MANIFEST).is_file() else None

    def staging(self, doc_id: str) -> Path:
        return self.root / "documents" / doc_id

    def save_meta(self, doc_id: str, meta: dict[str, Any], source: str) -> None:
        folder = self.staging(doc_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "source.txt").write_text(source, encoding="utf-8")
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")

    def save_lines(self, doc_id: str, lines: list) -> None:
        """Where each page's lines are (evidence boxes): per page, rows of (source start, end, x0, y0, x1, y1)."""
        (self.staging(doc_id) / "lines.json").write_text(json.dumps(lines), encoding="utf-8")

    def lines(self, doc_id: str) -> list | None:
        folder = self.folder(doc_id)
        try:
            return json.loads((folder / "lines.json").read_text(encoding="utf-8")) if folder else None
        except (OSError, ValueError):
            return None

    def manifest(self, doc_id: str) -> dict | None:
        folder = self.folder(doc_id)
        return manifest_mod.load(folder) if folder else None

    def meta(self, doc_id: str) -> dict:
        folder = self.folder(doc_id)
        try:
            return json.loads((folder / "meta.json").read_text()) if folder else {}
        except (OSError, ValueError):
            return {}

    def source(self, doc_id: str) -> str:
        folder = self.folder(doc_id)
        return (folder / "source.txt").read_text(encoding="utf-8") if folder else ""

    def page(self, doc_id: str, name: str) -> Path | None:
        folder = self.folder(doc_id)
        if folder is None or not PAGE_RE.match(name):
            return None
        path = folder / name
        return path if path.is_file() else None

    def delete(self, doc_id: str) -> bool:
        if not ID_RE.match(doc_id or ""):
            return False
        folder = self.root / "documents" / doc_id
        if not folder.exists():
            return False
        shutil.rmtree(folder, ignore_errors=True)
        return True

    def finished(self) -> list[str]:
        """Ids of the whole documents, newest first."""
        return [doc_id for _, doc_id in reversed(self.ids()) if self.folder(doc_id) is not None]

    def ids(self) -> list[tuple[float, str]]:
        """(modification time, id) of every folder, whole or being written, oldest first."""
        out = []
        for f in (self.root / "documents").iterdir():
            if ID_RE.match(f.name):
                try:
                    out.append((f.stat().st_mtime, f.name))
                except FileNotFoundError:  # deleted meanwhile
                    continue
        return sorted(out)

    def cleanup(self, unfinished_after: float = 3600) -> None:
        """Drop documents past their lifetime, half-written ones older than ``unfinished_after`` seconds, and
        the oldest beyond the maximum."""
        with self._lock:
            now = time.time()
            docs = self.ids()
            for mtime, doc_id in docs:
                folder = self.root / "documents" / doc_id
                whole = (folder / manifest_mod.MANIFEST).is_file()
                expired = whole and now - mtime > self.lifetime_s
                unfinished = not whole and now - mtime >= unfinished_after
                if expired or unfinished:
                    shutil.rmtree(folder, ignore_errors=True)
            whole = [doc_id for _, doc_id in self.ids() if self.folder(doc_id) is not None]  # renders go on
            for doc_id in whole[: max(0, len(whole) - self.max_documents)]:
                shutil.rmtree(self.root / "documents" / doc_id, ignore_errors=True)


def _lock_folder(root: Path):
    """An exclusive lock on the data folder, held while the store is open (Unix); an error if another
    server holds it."""
    try:
        import fcntl
    except ImportError:
        return None
    f = open(root / ".lock", "w")  # noqa: SIM115 - held open for the store's life
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        raise GlyphpressError(f"{root} is in use by another glyphpress server; give each its own --data-dir") \
            from None
    return f
