"""Fonts: bundled open fonts, family names, and the fallback chain with exact advances."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import ImageFont

from ..errors import GlyphpressError
from .slots import CodepointSlots

_BUNDLED_DIR = Path(str(resources.files("glyphpress") / "fonts"))


def _cjk_font_path() -> str | None:
    try:
        import cvttf_NotoSansCJK_Regular as pkg  # Noto Sans CJK (SIL OFL 1.1), from PyPI
    except ImportError:
        return None
    return pkg.get_TTF_path()


# Noto fonts for scripts the bundled ones lack, each from its PyPI package (SIL OFL 1.1): family -> package
SCRIPT_FONTS = {
    "Noto Sans": "fontpkg_noto_sans", "Noto Sans Arabic": "fontpkg_noto_sans_arabic",
    "Noto Sans Devanagari": "fontpkg_noto_sans_devanagari", "Noto Sans Thai": "fontpkg_noto_sans_thai",
    "Noto Sans Tamil": "fontpkg_noto_sans_tamil", "Noto Sans Telugu": "fontpkg_noto_sans_telugu",
    "Noto Sans Khmer": "fontpkg_noto_sans_khmer",
}


@functools.lru_cache(maxsize=1)
def _script_fonts() -> dict[str, str]:
    """Family -> regular font file of the script font packages installed (found without importing them)."""
    import importlib.util

    out = {}
    for family, package in SCRIPT_FONTS.items():
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        files = sorted(Path(list(spec.submodule_search_locations)[0], "files").glob("*.ttf"))
        upright = [f for f in files if "Italic" not in f.name]
        if upright:
            out[family] = str(upright[0])
    return out


def bundled_fonts() -> dict[str, str]:
    """Family name -> file, for the open fonts that the install provides."""
    fonts = {
        "DejaVu Sans": str(_BUNDLED_DIR / "DejaVuSans.ttf"),
        "DejaVu Sans Bold": str(_BUNDLED_DIR / "DejaVuSans-Bold.ttf"),
        "DejaVu Sans Oblique": str(_BUNDLED_DIR / "DejaVuSans-Oblique.ttf"),
        "DejaVu Sans Bold Oblique": str(_BUNDLED_DIR / "DejaVuSans-BoldOblique.ttf"),
        "DejaVu Sans Mono Oblique": str(_BUNDLED_DIR / "DejaVuSansMono-Oblique.ttf"),
        "DejaVu Serif": str(_BUNDLED_DIR / "DejaVuSerif.ttf"),
        "DejaVu Serif Bold": str(_BUNDLED_DIR / "DejaVuSerif-Bold.ttf"),
        "DejaVu Sans Mono": str(_BUNDLED_DIR / "DejaVuSansMono.ttf"),
        "DejaVu Sans Mono Bold": str(_BUNDLED_DIR / "DejaVuSansMono-Bold.ttf"),
    }
    cjk = _cjk_font_path()
    if cjk:
        fonts["Noto Sans CJK"] = cjk
    fonts.update(_script_fonts())
    return fonts


# Generic family names and what they resolve to.
GENERIC_FAMILIES = {"sans": "DejaVu Sans", "sans-serif": "DejaVu Sans", "serif": "DejaVu Serif",
                    "mono": "DejaVu Sans Mono", "monospace": "DejaVu Sans Mono",
                    "cjk": "Noto Sans CJK", "zh": "Noto Sans CJK", "ja": "Noto Sans CJK",
                    "ko": "Noto Sans CJK"}
# Tried after the user's fonts: Latin and symbols, CJK, the rest of the bundled set, then the script fonts.
DEFAULT_FALLBACKS = ("DejaVu Sans", "Noto Sans CJK", "DejaVu Sans Mono", "DejaVu Serif", *SCRIPT_FONTS)


def resolve_font(spec: str) -> str:
    """A font path (``file.ttc#2`` picks a face) or a family name -> ``path`` or ``path#index``."""
    path_part = spec.rsplit("#", 1)[0] if "#" in spec else spec
    if os.sep in spec or path_part.lower().endswith((".ttf", ".otf", ".ttc", ".otc")):
        if not Path(path_part).expanduser().is_file():
            raise GlyphpressError(f"font file not found: {path_part}")
        return str(Path(path_part).expanduser()) + (spec[len(path_part):] if "#" in spec else "")
    fonts = bundled_fonts()
    name = GENERIC_FAMILIES.get(spec.strip().lower(), spec.strip())
    for family, path in fonts.items():
        if family.lower() == name.lower() or family.lower().replace(" ", "") == name.lower().replace(" ", ""):
            return path
    found = _fontconfig_match(name)
    if found:
        return found
    known = ", ".join(list(GENERIC_FAMILIES)[:6] + list(fonts))
    raise GlyphpressError(f"font family {spec!r} not found; use a .ttf/.otf path or one of: {known}")


@functools.lru_cache(maxsize=64)
def _fontconfig_match(name: str) -> str | None:
    """A system font whose family matches exactly, through fontconfig where it is installed."""
    if not shutil.which("fc-match"):
        return None
    try:
        out = subprocess.run(["fc-match", "-f", "%{family}\t%{file}", name], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    family, _, file = out.partition("\t")
    families = [f.strip().lower() for f in family.split(",")]
    return file if file and name.lower() in families else None


class FontFile:
    """A font file's character map and design advances, read through FreeType on demand (no table is
    decoded whole). Shared between threads: calls into FreeType take a lock."""

    def __init__(self, spec: str):
        import freetype

        path, _, index = spec.partition("#")
        try:
            self._face = freetype.Face(path, int(index or 0))
        except (freetype.FT_Exception, OSError, ValueError) as e:
            raise GlyphpressError(f"cannot read font {path}: {e}") from None
        self._no_scale = freetype.FT_LOAD_NO_SCALE
        self._lock = threading.Lock()
        self.units_per_em = int(self._face.units_per_EM) or 1000
        self.notdef_advance = self.advance(0)  # glyph 0's, what a missing character takes

    def glyph(self, cp: int) -> int:
        """Glyph index of a code point; 0 where the font has none."""
        with self._lock:
            return int(self._face.get_char_index(cp))

    def has(self, cp: int) -> bool:
        return self.glyph(cp) != 0

    def advance(self, glyph: int) -> int:
        """Advance width of a glyph in font units."""
        with self._lock:
            return int(self._face.get_advance(glyph, self._no_scale))

    def char_advance(self, cp: int) -> int:
        """Advance of a code point's glyph (``.notdef``'s where the font has none), font units."""
        g = self.glyph(cp)
        return self.advance(g) if g else self.notdef_advance


def _control(cp: int) -> bool:
    """C0 and C1 control characters but tab and newline (some fonts map a few to empty glyphs; ReportLab
    never looks them up)."""
    return (cp < 0x20 or 0x7F <= cp <= 0x9F) and cp not in (0x09, 0x0A)


@functools.lru_cache(maxsize=32)
def font_file(spec: str) -> FontFile:
    return FontFile(spec)


@dataclass
class Face:
    """One font face at one pixel size: its font file and a Pillow (FreeType) handle for drawing."""

    spec: str
    size_px: float
    file: FontFile
    pil: ImageFont.FreeTypeFont

    @property
    def ascent_px(self) -> int:
        return self.pil.getmetrics()[0]

    @property
    def descent_px(self) -> int:
        return self.pil.getmetrics()[1]

    def advance_px(self, cp: int) -> float:
        return self.file.char_advance(cp) * self.size_px / self.file.units_per_em


def text_width_px(spec: str, size_px: float, text: str) -> float:
    """Width of ``text`` in one face from its design advances (no fallback, no rendering)."""
    f = font_file(spec)
    return sum(f.char_advance(ord(ch)) for ch in text) * size_px / f.units_per_em


def load_face(spec: str, size_px: float) -> Face:
    """A face with its own Pillow handle (not shared: FreeType faces are not thread-safe)."""
    file = font_file(spec)
    path, _, index = spec.partition("#")
    try:
        pil = ImageFont.truetype(path, size=size_px, index=int(index or 0),
                                 layout_engine=ImageFont.Layout.BASIC)
    except OSError as e:
        raise GlyphpressError(f"cannot open font {path}: {e}") from None
    return Face(spec, size_px, file, pil)


def font_chain(primary: str, fallbacks: tuple[str, ...] = ()) -> list[str]:
    """Resolved, de-duplicated specs: the primary font, the user's fallbacks, the defaults."""
    chain: list[str] = []
    for spec in (primary, *fallbacks):
        resolved = resolve_font(spec)
        if resolved not in chain:
            chain.append(resolved)
    installed = bundled_fonts()
    for name in DEFAULT_FALLBACKS:
        resolved = installed.get(name)
        if resolved is None:
            continue  # e.g. a font package is not installed
        if resolved not in chain:
            chain.append(resolved)
    return chain


class FontChain:
    """Maps code points to (face, advance) along a fallback chain, memoised per code point.

    ``advance`` is each character's advance in pixels in the face that draws it. ``published`` is
    its width in points as the published renderer (ReportLab) measures it: the primary font's own
    width (``.notdef``'s for a character it lacks) scaled as ReportLab scales it, or the advance of
    the fallback face that draws it where the primary font has no glyph but a fallback has."""

    def __init__(self, specs: list[str], size_pt: float, dpi: float, slots: CodepointSlots):
        self.specs = specs
        self.size_pt, self.dpi = size_pt, dpi
        self.size_px = size_pt * dpi / 72.0
        self.slots = slots
        self._faces: list[Face | None] = [None] * len(specs)
        self._files = [font_file(specs[0])]  # others open on demand
        self.face_of = slots.table(np.int8, 0)
        self.advance = slots.table(np.float64, 0.0)
        self.published = slots.table(np.float64, 0.0)
        self.known = slots.table(bool, False)
        self.missing = slots.table(bool, False)  # no font of the chain has it

    def face(self, i: int) -> Face:
        f = self._faces[i]
        if f is None:
            f = self._faces[i] = load_face(self.specs[i], self.size_px)
        return f

    def file(self, i: int) -> FontFile:
        while len(self._files) <= i:
            self._files.append(font_file(self.specs[len(self._files)]))
        return self._files[i]

    def prepare(self, slot: np.ndarray, cps: np.ndarray) -> None:
        """Make sure every code point in ``cps`` (at slots ``slot``) has a face and advances."""
        new = ~self.known.values[slot]
        if not new.any():
            return
        primary = self.file(0)
        mult, size = 1000 / primary.units_per_em, 0.001 * self.size_pt
        for cp in np.unique(cps[new]).tolist():
            for i in range(len(self.specs)):
                if self.file(i).has(cp) and not _control(cp):
                    break
            else:
                i = -1  # nobody has it (a font's glyph for a control character does not count): the
                # primary font's .notdef box
            s = self.slots.slot(cp)
            self.missing.values[s] = i < 0
            i = max(i, 0)
            self.face_of.values[s] = i
            self.advance.values[s] = adv = self.face(i).advance_px(cp)
            if i == 0:  # ReportLab's width: design units scaled to 1000 per em, then to the size; a no-break
                units = primary.char_advance(32 if cp == 0xA0 and primary.has(32) else cp)  # space is a space
                self.published.values[s] = size * (units * mult)
            else:
                self.published.values[s] = adv * 72.0 / self.dpi
            self.known.values[s] = True

    def prepare_cps(self, cps: np.ndarray) -> np.ndarray:
        """``prepare`` for code points alone; returns their slots."""
        slot = self.slots.of(cps)
        self.prepare(slot, cps)
        return slot

    def covered(self, cp: int) -> bool:
        return any(self.file(i).has(cp) for i in range(len(self.specs)))
