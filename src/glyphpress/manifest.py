"""The on-disk contract of a rendered document: page files plus ``manifest.json``, written so that a
manifest never describes pages that are not there (crash or Ctrl-C at any point)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

SCHEMA = "glyphpress/manifest"
VERSION = 1
MANIFEST = "manifest.json"
PAGE_RE = re.compile(r"^page_\d{4,}\.(png|webp)$")


def page_filename(index: int, fmt: str) -> str:
    return f"page_{index + 1:04d}.{fmt}"


def _fsync_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def begin(out_dir: Path) -> None:
    """Start (re)writing a page folder: the old manifest goes first, so it can't outlive its pages."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).unlink(missing_ok=True)


def write_page(out_dir: Path, name: str, data: bytes) -> None:
    _fsync_write(out_dir / name, data)


def finish(out_dir: Path, manifest: dict[str, Any]) -> Path:
    """Remove page files of an earlier, longer render, then publish the manifest atomically."""
    keep = {p["file"] for p in manifest["pages"]}
    for f in out_dir.iterdir():
        if PAGE_RE.match(f.name) and f.name not in keep:
            f.unlink()
        elif f.name.startswith(".") and ".tmp" in f.name:
            f.unlink()
    missing = [name for name in keep if not (out_dir / name).is_file()]
    if missing:
        raise RuntimeError(f"pages missing before manifest write: {missing[:3]}")
    path = out_dir / MANIFEST
    _fsync_write(path, (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    return path


def load(out_dir: str | Path) -> dict[str, Any]:
    """Read and check a manifest; every page it lists must exist."""
    from .errors import GlyphpressError

    path = Path(out_dir) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GlyphpressError(f"{out_dir}: no {MANIFEST} (not a finished render)") from None
    except ValueError as e:
        raise GlyphpressError(f"{path}: not valid JSON ({e})") from None
    if data.get("schema") != SCHEMA or data.get("version") != VERSION:
        raise GlyphpressError(f"{path}: not a {SCHEMA} v{VERSION} manifest")
    return data
