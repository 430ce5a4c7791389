"""θ: the rendering configuration, its presets, and the published Glyph JSON keys.

`RenderConfig` holds every key of the published Glyph configs under the same hyphenated JSON
names (``config_en.json`` / ``config_zh.json`` load unchanged) plus a few extensions.  All sizes
are in points (1/72 inch) unless said otherwise; pixels are derived from ``dpi`` by layout.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import ImageColor

from .errors import ConfigError

ALIGNMENTS = ("LEFT", "CENTER", "RIGHT", "JUSTIFY")
# "glyph": the published Glyph renderer's layout (ReportLab), page for page; "tight": glyphpress's denser one
LAYOUTS = ("glyph", "tight")
# ReportLab's TA_* constants, which some configs store as numbers.
_ALIGN_NUMBERS = {0: "LEFT", 1: "CENTER", 2: "RIGHT", 4: "JUSTIFY"}
IMAGE_FORMATS = ("png", "webp")
PAPER_SIZES = {  # points
    "A3": (842.0, 1191.0), "A4": (595.0, 842.0), "A5": (420.0, 595.0), "B4": (709.0, 1001.0),
    "B5": (499.0, 709.0), "LETTER": (612.0, 792.0), "LEGAL": (612.0, 1008.0),
    "TABLOID": (792.0, 1224.0),
}
# The visible newline marker Glyph draws instead of breaking the line: a red " \n ".
MARKER_NEWLINE = '<font color="#FF0000"> \\n </font>'
_BREAK_MARKUPS = {"", "<br/>", "<br>", "<br />", "br", "break"}
MAX_PAGE_PIXELS = 64_000_000


@dataclass(frozen=True)
class NewlineStyle:
    """How a source newline is shown: a real break, or inline ``text`` drawn in ``color``."""

    text: str | None = None  # None: a real line break
    color: str | None = None  # None: the font colour


@dataclass(frozen=True)
class RenderConfig:
    """θ. Field names are the published keys with ``-`` turned into ``_``."""

    page_size: tuple[float, float] = (595.0, 842.0)
    dpi: float = 72
    margin_x: float = 10
    margin_y: float = 10
    font_path: str | None = None
    font_size: float = 9
    line_height: float = 10
    font_color: str = "#000000"
    alignment: str = "LEFT"
    horizontal_scale: float = 1.0
    first_line_indent: float = 0
    left_indent: float = 0
    right_indent: float = 0
    space_before: float = 0
    space_after: float = 0
    border_width: float = 0
    border_padding: float = 0
    page_bg_color: str = "#FFFFFF"
    para_bg_color: str = "#FFFFFF"
    auto_crop_width: bool = True
    auto_crop_last_page: bool = True
    newline_markup: str | None = "<br/>"
    # extensions
    layout: str = "glyph"
    para_border_color: str = "#FFFFFF"  # not in the published configs, but read by its renderer (white)
    font_family: str | None = None
    fallback_fonts: tuple[str, ...] = ()
    letter_spacing: float = 0
    columns: int = 1
    column_gap: float = 10
    tab_size: int = 4
    image_format: str = "png"
    png_compress_level: int = 1
    page_label: bool = False  # "p. 12" (and a bundle part's name) drawn small in the bottom margin

    # ---- construction -------------------------------------------------------------------
    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: RenderConfig | None = None) -> RenderConfig:
        """Build from published (hyphenated) or Python (underscored) keys over ``base``."""
        if not isinstance(data, dict):
            raise ConfigError("a rendering config must be a JSON object of key: value pairs")
        values = dataclasses.asdict(base or cls())
        for key, raw in data.items():
            name = _field_name(key)
            values[name] = _coerce(name, raw)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """θ under the published hyphenated keys, JSON-ready."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "page_size":
                v = f"{_num(v[0])},{_num(v[1])}"
            elif isinstance(v, tuple):
                v = list(v)
            elif isinstance(v, float):
                v = _num(v)
            out[f.name.replace("_", "-")] = v
        return out

    def replace(self, **changes: Any) -> RenderConfig:
        return dataclasses.replace(self, **changes)

    def with_overrides(self, pairs: list[str]) -> RenderConfig:
        """Apply ``key=value`` strings (the CLI's ``--set``)."""
        data: dict[str, Any] = {}
        for pair in pairs:
            if "=" not in pair:
                raise ConfigError(f"--set expects key=value, got {pair!r}")
            key, value = pair.split("=", 1)
            data[key.strip()] = parse_set_value(value)
        return RenderConfig.from_dict(data, base=self)

    # ---- derived values ------------------------------------------------------------------
    @property
    def newline(self) -> NewlineStyle:
        return parse_newline_markup(self.newline_markup)

    def px(self, points: float) -> float:
        """Points to pixels at this θ's dpi."""
        return points * self.dpi / 72.0

    @property
    def column_width(self) -> float:
        """Points from one side of a text column to the other (margins and gaps taken off)."""
        return (self.page_size[0] - 2 * self.margin_x - (self.columns - 1) * self.column_gap) / self.columns

    @property
    def page_px(self) -> tuple[int, int]:
        return (max(1, round(self.px(self.page_size[0]))), max(1, round(self.px(self.page_size[1]))))


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(RenderConfig))
LABEL_MARGIN_PX = 7  # the bottom margin a page label needs (cropped last pages keep margin-y pixels)
PUBLISHED_KEYS = tuple(n.replace("_", "-") for n in FIELD_NAMES[: FIELD_NAMES.index("layout")])


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def _field_name(key: str) -> str:
    name = str(key).strip().replace("-", "_").lower()
    if name not in FIELD_NAMES:
        keys = [n.replace("_", "-") for n in FIELD_NAMES]
        close = difflib.get_close_matches(str(key).replace("_", "-"), keys, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f"; valid keys: {', '.join(keys)}"
        raise ConfigError(f"unknown config key {key!r}{hint}")
    return name


def parse_set_value(text: str) -> Any:
    """A ``--set`` value: JSON if it parses (numbers, true/false, null, lists), else a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


_BOOL_WORDS = {"true": True, "yes": True, "on": True, "1": True,
               "false": False, "no": False, "off": False, "0": False}


def _coerce(name: str, raw: Any) -> Any:
    key = name.replace("_", "-")
    kind = {f.name: f.type for f in dataclasses.fields(RenderConfig)}[name]
    try:
        if name == "page_size":
            return _parse_page_size(raw)
        if name == "alignment":
            if isinstance(raw, (int, float)) and int(raw) in _ALIGN_NUMBERS:
                return _ALIGN_NUMBERS[int(raw)]
            return str(raw).strip().upper()
        if name == "layout":
            return str(raw).strip().lower()
        if name == "fallback_fonts":
            if isinstance(raw, str):
                raw = [s for s in raw.split(",") if s.strip()]
            return tuple(str(s).strip() for s in raw)
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            word = str(raw).strip().lower()
            if word in _BOOL_WORDS:
                return _BOOL_WORDS[word]
            raise ValueError
        if kind == "float":
            if isinstance(raw, bool):
                raise ValueError
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
            return value
        if kind == "int":
            if isinstance(raw, bool) or float(raw) != int(float(raw)):
                raise ValueError
            return int(float(raw))
        if kind == "str | None":
            return None if raw is None else str(raw)
        return str(raw)
    except (TypeError, ValueError):
        expected = {"bool": "true or false", "float": "a number", "int": "a whole number"}.get(kind, "a string")
        raise ConfigError(f"config key {key!r}: expected {expected}, got {raw!r}") from None


def _parse_page_size(raw: Any) -> tuple[float, float]:
    if isinstance(raw, str):
        name = raw.strip().upper()
        if name in PAPER_SIZES:
            return PAPER_SIZES[name]
        parts = re.split(r"[,x× ]+", raw.strip())
    else:
        parts = list(raw)
    if len(parts) != 2:
        raise ValueError
    w, h = float(parts[0]), float(parts[1])
    if not (math.isfinite(w) and math.isfinite(h)):
        raise ValueError
    return (w, h)


def parse_newline_markup(markup: str | None) -> NewlineStyle:
    """``<br/>`` (or nothing) is a real break; ``<font color="#F00"> \\n </font>`` a red marker."""
    if markup is None or markup.strip().lower() in _BREAK_MARKUPS:
        return NewlineStyle()
    if markup.strip().lower() == "marker":
        markup = MARKER_NEWLINE
    m = re.fullmatch(r"\s*<font\s+color\s*=\s*[\"']?([^\"'>\s]+)[\"']?\s*>(.*)</font>\s*", markup, re.S)
    text, color = (m.group(2), m.group(1)) if m else (markup, None)
    text = text.replace("\r\n", "\\n").replace("\n", "\\n")
    return NewlineStyle(text=text or " ", color=color)


def _color_ok(value: str) -> bool:
    try:
        ImageColor.getrgb(value)
        return True
    except (ValueError, AttributeError):
        return False


def _validate(c: RenderConfig) -> None:
    def bad(key: str, msg: str) -> None:
        raise ConfigError(f"config key {key!r}: {msg}")

    def check_range(name: str, lo: float, hi: float, lo_open: bool = False) -> None:
        v = getattr(c, name)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            bad(name.replace("_", "-"), f"expected a number, got {v!r}")
        if v > hi or v < lo or (lo_open and v == lo):
            lo_txt = f"greater than {_num(lo)}" if lo_open else f"at least {_num(lo)}"
            bad(name.replace("_", "-"), f"must be {lo_txt} and at most {_num(hi)}, got {_num(v)}")

    w, h = c.page_size
    if not (36 <= w <= 14400 and 36 <= h <= 14400):
        bad("page-size", f"each side must be between 36 and 14400 points, got {_num(w)},{_num(h)}")
    check_range("dpi", 0, 1200, lo_open=True)
    if c.page_px[0] * c.page_px[1] > MAX_PAGE_PIXELS:
        bad("dpi", f"page would be {c.page_px[0]}x{c.page_px[1]} pixels, over the limit of "
                   f"{MAX_PAGE_PIXELS:,}; lower dpi or page-size")
    check_range("font_size", 0, 500, lo_open=True)
    check_range("line_height", 0, 1000, lo_open=True)
    for name in ("margin_x", "margin_y", "left_indent", "right_indent", "space_before",
                 "space_after", "border_width", "border_padding", "column_gap"):
        check_range(name, 0, 10000)
    check_range("first_line_indent", -c.left_indent, 10000)
    check_range("horizontal_scale", 0.1, 4.0)
    check_range("letter_spacing", -c.font_size / 4, c.font_size * 2)
    check_range("columns", 1, 3)
    check_range("tab_size", 1, 16)
    check_range("png_compress_level", 0, 9)
    if c.page_label and min(c.margin_y, c.px(c.margin_y)) < LABEL_MARGIN_PX:
        bad("page-label", f"a page label needs a bottom margin of at least {LABEL_MARGIN_PX} pixels; raise "
                          "margin-y")
    if c.alignment not in ALIGNMENTS:
        bad("alignment", f"must be one of {', '.join(ALIGNMENTS)}, got {c.alignment!r}")
    if c.layout not in LAYOUTS:
        bad("layout", f"must be one of {', '.join(LAYOUTS)}, got {c.layout!r}")
    if c.image_format not in IMAGE_FORMATS:
        bad("image-format", f"must be one of {', '.join(IMAGE_FORMATS)}, got {c.image_format!r}")
    for name in ("font_color", "page_bg_color", "para_bg_color", "para_border_color"):
        if not _color_ok(getattr(c, name)):
            bad(name.replace("_", "-"), f"not a colour: {getattr(c, name)!r} (use #RRGGBB)")
    nl = parse_newline_markup(c.newline_markup)
    if nl.color is not None and not _color_ok(nl.color):
        bad("newline-markup", f"not a colour: {nl.color!r}")
    # the text area must hold at least a few characters
    inner = (2 * c.margin_x + c.left_indent + c.right_indent + max(0.0, c.first_line_indent)
             + (c.columns - 1) * c.column_gap + 2 * (c.border_width + c.border_padding))
    if w - inner < c.font_size * c.columns:
        bad("margin-x", f"margins, indents, borders and column gaps ({_num(inner)} pt) leave no room "
                        f"for text on a page {_num(w)} pt wide")
    if h - 2 * c.margin_y < c.line_height:
        bad("margin-y", f"margins ({_num(2 * c.margin_y)} pt) leave less than one line "
                        f"({_num(c.line_height)} pt) on a page {_num(h)} pt tall")


# ---- presets ---------------------------------------------------------------------------------
PRESETS: dict[str, dict[str, Any]] = {
    # The published post-training values, laid out as the published renderer lays them out; Verdana ->
    # DejaVu Sans (Bitstream Vera lineage, the same wide humanist design), Source Han Sans HW SC -> Noto
    # Sans CJK (the same design).
    "glyph-en": {"font-family": "sans"},
    "glyph-zh": {"font-family": "cjk"},
    "readable": {"font-family": "sans", "dpi": 96},
    # glyphpress's denser geometry: no frame padding, every source line its own paragraph, spaces kept
    "tight": {"font-family": "sans", "layout": "tight"},
    "dense": {"font-family": "sans", "font-size": 7, "line-height": 7.5, "margin-x": 5,
              "margin-y": 5, "newline-markup": MARKER_NEWLINE, "layout": "tight"},
    "code": {"font-family": "mono", "font-size": 9, "line-height": 10, "tab-size": 4, "layout": "tight"},
}
DEFAULT_PRESET = "glyph-en"


def preset(name: str) -> RenderConfig:
    key = name.strip().lower()
    if key not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    return RenderConfig.from_dict(PRESETS[key])


def load_config(spec: str | Path | None = None, overrides: list[str] | None = None) -> RenderConfig:
    """θ from a preset name or a JSON file (published keys), then ``key=value`` overrides.

    A JSON file starts from ``glyph-en`` so a partial file is valid; a published file sets all keys.
    """
    spec = DEFAULT_PRESET if spec is None else str(spec)
    if spec.strip().lower() in PRESETS:
        cfg = preset(spec)
    else:
        path = Path(spec)
        if not path.is_file():
            raise ConfigError(f"{spec!r} is neither a preset ({', '.join(PRESETS)}) nor a JSON file")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise ConfigError(f"{spec}: not valid JSON ({e})") from None
        cfg = RenderConfig.from_dict(data, base=preset(DEFAULT_PRESET))
    return cfg.with_overrides(overrides or [])


__all__ = ["RenderConfig", "NewlineStyle", "PRESETS", "preset", "load_config",
           "parse_newline_markup", "PUBLISHED_KEYS"]
