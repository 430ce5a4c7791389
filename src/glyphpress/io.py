"""Reading inputs: files, folders, stdin; encoding detection; text normalisation."""

from __future__ import annotations

import codecs
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError, NothingToRender

MAX_INPUT_BYTES = 1 << 31  # 2 GiB: beyond this a single text is certainly a mistake


@dataclass
class Source:
    name: str  # a display name: the path as given, or "stdin"
    text: str
    encoding: str


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR become LF; source ranges index the normalised text."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Bytes -> (text, encoding). UTF-8 and BOM-marked UTF-16/32 first, then detection."""
    for bom, enc in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                     (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError as e:
                raise InputError(f"{name}: starts with a {enc} byte-order mark but is not valid {enc} "
                                 f"({e.reason})") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    sample = data[:65536]
    if sample.count(b"\x00") > len(sample) // 100 or _looks_binary(sample):
        raise NothingToRender(f"{name}: looks like a binary file, not text (pass a text file, or convert it first)")
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 4 << 20]).best()
    if best is None or best.encoding is None:
        raise InputError(f"{name}: not UTF-8 and its encoding could not be detected; convert it to UTF-8")
    try:
        return data.decode(best.encoding), best.encoding
    except (UnicodeDecodeError, LookupError):
        raise InputError(f"{name}: not UTF-8, and not valid {best.encoding} either; convert it to UTF-8") from None


def _looks_binary(sample: bytes) -> bool:
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return control > len(sample) // 20


def read_bytes(data: bytes, name: str) -> Source:
    text, enc = decode(data, name)
    text = normalize_newlines(text)
    check_text(text, name)
    return Source(name, text, enc)


def check_text(text: str, name: str = "input") -> None:
    if not text:
        raise NothingToRender(f"{name}: is empty, nothing to render")
    if text.isspace():
        raise NothingToRender(f"{name}: contains only whitespace, nothing to render")


def read_source(spec: str) -> Source:
    """A file path, or ``-`` for standard input."""
    if spec == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        name = "stdin"
    else:
        path = Path(spec)
        if not path.exists():
            raise InputError(f"{spec}: no such file")
        if path.is_dir():
            raise InputError(f"{spec}: is a folder; expand it with iter_input_files")
        try:
            if path.stat().st_size > MAX_INPUT_BYTES:
                raise InputError(f"{spec}: larger than {MAX_INPUT_BYTES >> 30} GiB")
            data = path.read_bytes()
        except OSError as e:
            raise InputError(f"{spec}: cannot read ({e.strerror})") from None
        name = spec
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{name}: larger than {MAX_INPUT_BYTES >> 30} GiB")
    return read_bytes(data, name)


def expand_inputs(specs: list[str]) -> list[str]:
    """Files stay, ``-`` stays, a folder becomes its files (recursive, sorted, hidden ones skipped)."""
    out: list[str] = []
    for spec in specs:
        p = Path(spec)
        if spec != "-" and p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file()
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
            if not files:
                raise InputError(f"{spec}: folder has no files")
            out.extend(str(f) for f in files)
        elif spec != "-" and not p.exists():
            raise InputError(f"{spec}: no such file or folder")
        else:
            out.append(spec)
    if not out:
        raise InputError("no input given")
    return out
