"""Corpora for training data: text files, JSON lines, Parquet files and ``datasets`` folders (as
``save_to_disk`` writes them), read into documents, in a fixed order so a build is the same everywhere."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import GlyphpressError

TEXT_FIELDS = ("text", "content", "document", "context", "body")


@dataclass(frozen=True)
class Doc:
    name: str
    text: str


def read_corpus(paths: list[str | Path], min_chars: int = 200) -> list[Doc]:
    """Every document of the corpus at ``paths`` (files or folders), in a fixed order; documents shorter than
    ``min_chars`` are left out."""
    docs: list[Doc] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise GlyphpressError(f"{path}: no such file or folder")
        if path.is_dir() and (path / "dataset_info.json").is_file():
            docs += _arrow_folder(path)
            continue
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()
                                                     and not p.name.startswith("."))
        for f in files:
            docs += _file(f)
    docs = [d for d in docs if len(d.text.strip()) >= min_chars]
    if not docs:
        raise GlyphpressError(f"no document of at least {min_chars} characters in {', '.join(map(str, paths))}")
    return docs


def _file(f: Path) -> list[Doc]:
    try:
        return _read(f)
    except UnicodeDecodeError:
        raise GlyphpressError(f"{f}: not UTF-8 text") from None
    except GlyphpressError:
        raise
    except Exception as e:  # noqa: BLE001 - pyarrow's errors on a damaged file are the file's
        raise GlyphpressError(f"{f}: cannot be read ({type(e).__name__}: {str(e).splitlines()[0][:160]})") from None


def _read(f: Path) -> list[Doc]:
    suffix = f.suffix.lower()
    if suffix == ".jsonl":
        out = []
        for n, row in json_lines(f):
            text = _text_of(row) if isinstance(row, dict) else row if isinstance(row, str) else None
            if text is not None:
                out.append(Doc(f"{f.name}#{n}", text))
        return out
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(f)
        column = next((c for c in TEXT_FIELDS if c in table.column_names), None)
        if column is None:
            raise GlyphpressError(f"{f}: no text column ({', '.join(TEXT_FIELDS)})")
        return _column_docs(f, table, column)
    if suffix in (".arrow",):
        return _arrow_file(f)
    try:
        return [Doc(f.name, f.read_text(encoding="utf-8"))]
    except UnicodeDecodeError:
        return []  # a binary file in a folder of texts


def json_lines(path: Path):
    """(line number, value) of each non-blank line of a JSON lines file, or a one-line error."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise GlyphpressError(f"{path}: not UTF-8 text") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except ValueError:
            raise GlyphpressError(f"{path}: line {n} is not JSON") from None


def _text_of(row: dict) -> str | None:
    for k in TEXT_FIELDS:
        if isinstance(row.get(k), str):
            return row[k]
    return None


def _arrow_folder(folder: Path) -> list[Doc]:
    return [d for f in sorted(folder.glob("*.arrow")) for d in _arrow_file(f)]


def _arrow_file(f: Path) -> list[Doc]:
    import pyarrow as pa

    with pa.memory_map(str(f)) as source:
        try:
            table = pa.ipc.open_stream(source).read_all()
        except pa.ArrowInvalid:
            table = pa.ipc.open_file(source).read_all()
    column = next((c for c in TEXT_FIELDS if c in table.column_names), None)
    if column is None:
        raise GlyphpressError(f"{f}: no text column ({', '.join(TEXT_FIELDS)})")
    return _column_docs(f, table, column)


def _column_docs(f: Path, table, column: str) -> list[Doc]:
    values = table.column(column).to_pylist()
    if any(v is not None and not isinstance(v, str) for v in values):
        raise GlyphpressError(f"{f}: the {column} column holds values that are not text")
    return [Doc(f"{f.name}#{i + 1}", t) for i, t in enumerate(values) if t]
