"""pdfium's fonts for text a PDF does not embed: the bundled Noto Sans CJK draws Chinese, Japanese and
Korean wherever the PDF only names its font (a CJK PDF that relies on the reader's system fonts), on every
machine, instead of whatever the system has (often nothing: blank pages). Other fonts (Latin ones whose
names have "Gothic" in them included) are looked up as pdfium does by default.

pdfium asks a "system font info" table of callbacks for fonts; ``install()`` puts one in front of
pdfium's default: CJK character sets and CJK face names map to the bundled font, everything else goes
to the default."""

from __future__ import annotations

import ctypes
import functools
import re
import threading

CJK_CHARSETS = (128, 129, 134, 136)  # Shift-JIS, Hangul, GB2312, Big5
# CJK font families by the words of their names (a font named only, CJK characters or not): whole words, so
# "Century Gothic", "Letter Gothic" or "Theinhardt" stay Latin
CJK_WORDS = {"song", "stsong", "songti", "fangsong", "ming", "mingliu", "pmingliu", "mincho", "kai", "kaiti", "dfkai",
             "hei", "heiti", "simhei", "simsun", "nsimsun", "stheiti", "stkaiti", "msung", "mhei", "batang", "gulim",
             "dotum", "gungsuh", "heisei", "kozmin", "kozgo", "kozminpro", "kozgopro", "hysmyeongjo", "hygothic",
             "meiryo", "malgun", "hiragino", "pingfang", "yahei", "jhenghei", "nanum", "nanumgothic", "ryumin",
             "gothicbbb", "unbatang", "wenquanyi", "wqy", "droidsansfallback", "msgothic", "mspgothic", "msmincho",
             "mspmincho", "yugothic", "yumincho"}
CJK_PHRASES = ("ms gothic", "ms pgothic", "ms mincho", "ms pmincho", "yu gothic", "yu mincho", "noto sans cjk",
               "noto serif cjk", "source han", "microsoft yahei", "microsoft jhenghei", "adobe song", "adobe ming",
               "adobe heiti", "adobe myungjo", "adobe gothic std")
FACE = b"Noto Sans CJK (glyphpress)"
_HANDLE = 0x6C79_6731  # what pdfium is given for the bundled font: any pointer-sized value it never sees elsewhere


@functools.cache
def cjk_font_path() -> str | None:
    try:
        import cvttf_NotoSansCJK_Regular as cjk
    except ImportError:
        return None
    return cjk.get_TTF_path()


@functools.cache
def _font_bytes() -> bytes:
    with open(cjk_font_path(), "rb") as f:
        return f.read()


def _is_cjk_name(face: bytes | None) -> bool:
    """Whether a font's name is a CJK family's (its words, split at anything but letters and digits, and
    at a subset tag's "+")."""
    name = (face or b"").decode("latin-1").lower().split("+")[-1]
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", (face or b"").decode("latin-1").split("+")[-1]).lower()
    words = set(re.split(r"[^a-z0-9]+", spaced)) | set(re.split(r"[^a-z0-9]+", name))
    flat = " ".join(w for w in re.split(r"[^a-z0-9]+", spaced) if w)
    return bool(words & CJK_WORDS) or any(p in flat for p in CJK_PHRASES)


_installed = None  # the table pdfium holds (kept alive here)


def install() -> bool:
    """Make pdfium draw CJK text whose font is not embedded with the bundled font (once per process).
    False where the font package is missing."""
    with _lock:
        return _install()


_lock = threading.Lock()


def _install() -> bool:
    global _installed
    if _installed is not None:
        return True
    if cjk_font_path() is None:
        return False
    import pypdfium2.raw as raw

    default = raw.FPDF_GetDefaultSystemFontInfo()
    base = default.contents
    info = raw.FPDF_SYSFONTINFO()
    info.version = 1

    def release(this):
        pass

    def enum_fonts(this, mapper):
        if base.EnumFonts:
            base.EnumFonts(default, mapper)
        for charset in CJK_CHARSETS:
            raw.FPDF_AddInstalledFont(mapper, FACE, charset)

    def map_font(this, weight, italic, charset, pitch, face, exact):
        name = ctypes.cast(face, ctypes.c_char_p).value if face else None
        if charset in CJK_CHARSETS or _is_cjk_name(name) or name == FACE:
            return _HANDLE
        return base.MapFont(default, weight, italic, charset, pitch, face, exact) if base.MapFont else None

    def get_font(this, face):
        name = ctypes.cast(face, ctypes.c_char_p).value if face else None
        if name == FACE or _is_cjk_name(name):
            return _HANDLE
        return base.GetFont(default, face) if base.GetFont else None

    def get_font_data(this, font, table, buffer, size):
        if font == _HANDLE:
            if table:
                return 0  # whole files only
            data = _font_bytes()
            if buffer and size >= len(data):
                ctypes.memmove(buffer, data, len(data))
            return len(data)
        return base.GetFontData(default, font, table, buffer, size) if base.GetFontData else 0

    def get_face_name(this, font, buffer, size):
        if font == _HANDLE:
            if buffer and size > len(FACE):
                ctypes.memmove(buffer, FACE + b"\0", len(FACE) + 1)
            return len(FACE) + 1
        return base.GetFaceName(default, font, buffer, size) if base.GetFaceName else 0

    def get_charset(this, font):
        if font == _HANDLE:
            return 134
        return base.GetFontCharset(default, font) if base.GetFontCharset else 0

    def delete_font(this, font):
        if font != _HANDLE and base.DeleteFont:
            base.DeleteFont(default, font)

    fields = dict(raw.FPDF_SYSFONTINFO._fields_)
    callbacks = {"Release": release, "EnumFonts": enum_fonts, "MapFont": map_font, "GetFont": get_font,
                 "GetFontData": get_font_data, "GetFaceName": get_face_name, "GetFontCharset": get_charset,
                 "DeleteFont": delete_font}
    keep = []
    for name, fn in callbacks.items():
        c = fields[name](fn)
        keep.append(c)
        setattr(info, name, c)
    raw.FPDF_SetSystemFontInfo(ctypes.byref(info))
    _installed = (info, keep, default)
    return True
