"""θ from HTTP clients is data, never a path: a preset name, then θ keys from an allow-list with bounded
values; fonts only from the bundled families and those the operator configured (resolved once, at
start-up, so no request makes the server look a font up)."""

from __future__ import annotations

from typing import Any

from ..config import PRESETS, RenderConfig, preset
from ..errors import ConfigError
from ..layout.fonts import GENERIC_FAMILIES, bundled_fonts, resolve_font

# number keys: (lowest, highest); other keys: their values are checked by RenderConfig
NUMBERS: dict[str, tuple[float, float]] = {
    "dpi": (36, 300), "margin-x": (0, 300), "margin-y": (0, 300), "font-size": (4, 72), "line-height": (4, 144),
    "horizontal-scale": (0.25, 4), "first-line-indent": (0, 300), "left-indent": (0, 300),
    "right-indent": (0, 300), "space-before": (0, 144), "space-after": (0, 144), "border-width": (0, 20),
    "border-padding": (0, 72), "letter-spacing": (-4, 20), "columns": (1, 6), "column-gap": (0, 144),
    "tab-size": (1, 16), "png-compress-level": (0, 9),
}
OTHERS = {"font-color", "alignment", "page-bg-color", "para-bg-color", "para-border-color", "auto-crop-width",
          "auto-crop-last-page", "newline-markup", "layout", "image-format"}
PAGE_SIDE = (72, 5000)  # points
MAX_FALLBACKS = 8
MAX_TEXT = 64  # characters of a string value


class ClientTheta:
    """Turns a client's ``preset`` and ``set`` into θ under this server's rules."""

    def __init__(self, fonts: str | None = None):
        bundled = bundled_fonts()
        offered = [g for g, family in GENERIC_FAMILIES.items() if family in bundled]  # none that needs a lookup
        self.families = {name.lower(): None for name in [*offered, *bundled]}
        for spec in (fonts or "").split(","):
            if spec.strip():
                path = resolve_font(spec.strip())  # may ask fontconfig: here, at start-up only
                self.families[_family_name(spec.strip()).lower()] = path

    def names(self) -> list[str]:
        return sorted(self.families)

    def config(self, preset_name: Any, sets: Any) -> RenderConfig:
        if not isinstance(preset_name, str) or preset_name.strip().lower() not in PRESETS:
            raise ConfigError(f"unknown preset {str(preset_name)[:40]!r}; presets: {', '.join(PRESETS)}")
        if not isinstance(sets, dict):
            raise ConfigError('"set" must be an object of θ keys and values')
        data: dict[str, Any] = {}
        font_path = None
        for raw_key, value in sets.items():
            key = str(raw_key).strip().lower().replace("_", "-")
            if key in NUMBERS:
                data[key] = _number(key, value, *NUMBERS[key])
            elif key == "page-size":
                data[key] = _page_size(value)
            elif key == "font-family":
                font_path = self._family(value)
                data[key] = value
            elif key == "fallback-fonts":
                if not isinstance(value, list) or len(value) > MAX_FALLBACKS:
                    raise ConfigError(f"fallback-fonts: a list of at most {MAX_FALLBACKS} font families")
                for name in value:
                    if self._family(name) is not None:
                        raise ConfigError(f"fallback-fonts: {name!r} can only be the main font-family here")
                data[key] = value
            elif key in OTHERS:
                if not isinstance(value, (str, bool)) or (isinstance(value, str) and len(value) > MAX_TEXT):
                    raise ConfigError(f"{key}: expected a short string or true/false")
                data[key] = value
            else:
                raise ConfigError(f"{str(raw_key)[:40]!r} cannot be set over HTTP; keys: "
                                  f"{', '.join([*NUMBERS, 'page-size', 'font-family', 'fallback-fonts', *OTHERS])}")
        cfg = RenderConfig.from_dict(data, base=preset(preset_name))
        return cfg.replace(font_path=font_path) if font_path else cfg

    def _family(self, name: Any) -> str | None:
        """The server's font file for an operator's font, None for a bundled family; refused otherwise."""
        if not isinstance(name, str) or name.strip().lower() not in self.families:
            raise ConfigError(f"font {str(name)[:40]!r} is not offered by this server; "
                              f"fonts: {', '.join(self.names())}")
        return self.families[name.strip().lower()]


def _family_name(spec: str) -> str:
    """What clients call an operator's font: its family name, or a font file's name without suffix."""
    from pathlib import Path

    return Path(spec.split("#")[0]).stem if spec.lower().split("#")[0].endswith((".ttf", ".otf", ".ttc", ".otc")) \
        else spec


def _number(key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -1e9 < value < 1e9:  # NaN too
        raise ConfigError(f"{key}: expected a number from {low:g} to {high:g}, got {str(value)[:40]!r}")
    if not low <= value <= high:
        raise ConfigError(f"{key}: {value:g} is outside this server's range {low:g} to {high:g}")
    return value


def _page_size(value: Any) -> str:
    parts = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else None
    if not parts or len(parts) != 2:
        raise ConfigError('page-size: expected "width,height" in points')
    try:
        sides = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise ConfigError('page-size: expected "width,height" in points') from None
    for side in sides:
        _number("page-size", side, *PAGE_SIDE)
    return f"{sides[0]:g},{sides[1]:g}"

