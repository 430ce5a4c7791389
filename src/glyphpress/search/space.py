"""The space a θ search explores: rendering keys (under θ's published names) with their options or
ranges and the priors the Glyph paper sampled them with (its Table 8), the rules that keep a θ valid
(line height at least the font size, margins and indents that leave room for text on the page), and keys
frozen at one value. A space is a small JSON (or YAML) file a user can edit; ``en``, ``zh`` and ``code``
are presets. The genetic operators a search needs live here too: sample, mutate, cross over, stride (move on
along a step that paid off), repair."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import RenderConfig, load_config
from ..errors import ConfigError

KINDS = ("choice", "float", "int", "fixed")
PRIORS = ("uniform", "log", "near-high")  # near-high: likelier near the top of the range, decaying away
MIN_TEXT_WIDTH = 0.5  # of the page's width at least is left for text by margins and indents
MIN_TEXT_HEIGHT = 0.6  # and of its height by the top and bottom margins
MAX_LEADING = 3.0  # points of line height over the font size at most, where a space varies both (Table 8)


@dataclass(frozen=True)
class Param:
    """One key's options (``choice``, with optional prior weights), range (``float``/``int``, with a step
    and a prior), or one value (``fixed``: frozen)."""

    kind: str
    options: tuple = ()
    weights: tuple = ()
    low: float = 0.0
    high: float = 0.0
    step: float = 0.0  # 0: continuous
    prior: str = "uniform"
    value: Any = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"parameter kind {self.kind!r}; kinds: {', '.join(KINDS)}")
        if self.kind == "choice" and not self.options:
            raise ConfigError("a choice parameter needs options")
        if self.weights and len(self.weights) != len(self.options):
            raise ConfigError("a choice parameter has one weight per option")
        if self.kind in ("float", "int") and not self.low <= self.high:
            raise ConfigError(f"a range needs low <= high (got {self.low}, {self.high})")
        if self.prior not in PRIORS:
            raise ConfigError(f"prior {self.prior!r}; priors: {', '.join(PRIORS)}")
        if self.prior == "log" and self.low <= 0:
            raise ConfigError("a log prior needs a positive range")

    # ---- values --------------------------------------------------------------------------------------------------
    def snap(self, value: float) -> float | int:
        """A number brought into the range and onto its step."""
        v = min(max(float(value), self.low), self.high)
        if self.step:
            v = self.low + round((v - self.low) / self.step) * self.step
            v = min(v, self.high)
        return int(round(v)) if self.kind == "int" else round(v, 6)

    def contains(self, value: Any) -> bool:
        if self.kind == "fixed":
            return value == self.value
        if self.kind == "choice":
            return value in self.options
        return isinstance(value, (int, float)) and self.low <= value <= self.high and self.snap(value) == value

    def sample(self, rng: random.Random) -> Any:
        if self.kind == "fixed":
            return self.value
        if self.kind == "choice":
            return rng.choices(self.options, weights=self.weights or None)[0]
        if self.prior == "log":
            v = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        elif self.prior == "near-high":
            v = self.high - abs(rng.gauss(0, (self.high - self.low) / 2.5))
        else:
            v = rng.uniform(self.low, self.high)
        return self.snap(v)

    def mutate(self, value: Any, rng: random.Random, strength: float = 0.1) -> Any:
        """A neighbour of ``value``: another option (of numbers in order, mostly the next one up or down), or a
        step of ``strength`` times the range (at least one grid step) up or down."""
        if self.kind == "fixed":
            return self.value
        if self.kind == "choice":
            others = [o for o in self.options if o != value]
            ordinal = all(isinstance(o, (int, float)) and not isinstance(o, bool) for o in self.options)
            if ordinal and value in self.options and rng.random() < 0.7:
                ranked = sorted(self.options)
                i = ranked.index(value)
                near = [ranked[j] for j in (i - 1, i + 1) if 0 <= j < len(ranked)]
                return rng.choice(near) if near else value
            return rng.choice(others) if others else value
        span = self.high - self.low
        if not span:
            return self.snap(self.low)
        delta = rng.gauss(0, strength * span)
        if self.step and abs(delta) < self.step:
            delta = math.copysign(self.step, delta or 1)
        return self.snap((value if isinstance(value, (int, float)) else self.low) + delta)

    def stride(self, old: Any, new: Any, factor: int = 1) -> Any:
        """The value ``factor`` more steps of ``old`` -> ``new`` on from ``new``: a number moved by ``factor``
        times the difference (snapped into the range), an option of numbers ``factor`` options further on in the
        same direction (the last one at most); ``new`` itself where the step has no direction (unordered options,
        an unchanged value, a fixed key)."""
        if self.kind == "fixed" or old == new:
            return new
        if self.kind == "choice":
            ordinal = all(isinstance(o, (int, float)) and not isinstance(o, bool) for o in self.options)
            if not ordinal or old not in self.options or new not in self.options:
                return new
            ranked = sorted(self.options)
            i, j = ranked.index(old), ranked.index(new)
            return ranked[min(max(j + factor * (j - i), 0), len(ranked) - 1)]
        if not isinstance(old, (int, float)) or not isinstance(new, (int, float)):
            return new
        return self.snap(new + factor * (new - old))

    # ---- files ---------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        if self.kind == "fixed":
            return {"fixed": self.value}
        if self.kind == "choice":
            out: dict[str, Any] = {"choice": list(self.options)}
            if self.weights:
                out["weights"] = list(self.weights)
            return out
        out = {self.kind: [self.low, self.high]}
        if self.step:
            out["step"] = self.step
        if self.prior != "uniform":
            out["prior"] = self.prior
        return out

    @classmethod
    def from_dict(cls, key: str, data: Any) -> Param:
        """``{"choice": [...], "weights": [...]}``, ``{"float": [lo, hi], "step": s, "prior": p}``,
        ``{"int": [lo, hi]}`` or ``{"fixed": v}``."""
        if not isinstance(data, dict):
            return cls("fixed", value=data)
        unknown = set(data) - {"choice", "weights", "float", "int", "step", "prior", "fixed"}
        if unknown:
            raise ConfigError(f"space key {key!r}: unknown field(s) {', '.join(sorted(unknown))}")
        try:
            if "fixed" in data:
                return cls("fixed", value=data["fixed"])
            if "choice" in data:
                return cls("choice", options=tuple(data["choice"]), weights=tuple(data.get("weights", ())))
            kind = "float" if "float" in data else "int" if "int" in data else None
            if kind is None:
                raise ConfigError(f"space key {key!r}: give choice, float, int or fixed")
            low, high = data[kind]
            return cls(kind, low=float(low), high=float(high), step=float(data.get("step", 1 if kind == "int" else 0)),
                       prior=data.get("prior", "uniform"))
        except (TypeError, ValueError, ConfigError) as e:
            raise ConfigError(f"space key {key!r}: {e}") from None


@dataclass
class Space:
    """Keys a search varies, over a base θ (a preset name or a config file) that gives every other key."""

    params: dict[str, Param]
    base: str = "glyph-en"
    name: str = "custom"
    _base_cfg: RenderConfig | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        for key, p in self.params.items():
            for value in p.options if p.kind == "choice" else (p.sample(random.Random(0)),):
                try:
                    self.config({key: value})
                except ConfigError as e:
                    raise ConfigError(f"space key {key!r}: {e}") from None

    def base_config(self) -> RenderConfig:
        if self._base_cfg is None:
            self._base_cfg = load_config(self.base)
        return self._base_cfg

    # ---- candidates ----------------------------------------------------------------------------------------------
    def sample(self, rng: random.Random) -> dict[str, Any]:
        return self.repair({k: p.sample(rng) for k, p in self.params.items()})

    def mutate(self, theta: dict[str, Any], rng: random.Random, rate: float = 0.3,
               strength: float = 0.1) -> dict[str, Any]:
        """Each free key changed with probability ``rate`` (at least one), then repaired."""
        free = [k for k, p in self.params.items() if p.kind != "fixed"]
        out = dict(theta)
        chosen = [k for k in free if rng.random() < rate] or ([rng.choice(free)] if free else [])
        for k in chosen:
            out[k] = self.params[k].mutate(out.get(k), rng, strength)
        return self.repair(out)

    def stride(self, theta: dict[str, Any], step: dict[str, tuple[Any, Any]], factor: int = 1) -> dict[str, Any]:
        """θ moved on along a step that led to it (``{key: (before, after)}``), ``factor`` times as far again
        (Param.stride per key), then repaired: the pattern move that follows a step which paid off."""
        out = dict(theta)
        for k, (old, new) in step.items():
            if k in self.params and out.get(k) == new:
                out[k] = self.params[k].stride(old, new, factor)
        return self.repair(out)

    def crossover(self, a: dict[str, Any], b: dict[str, Any], rng: random.Random, bias: float = 0.5
                  ) -> dict[str, Any]:
        """Each key from ``a`` with probability ``bias``, else from ``b`` (a biased crossover keeps most of the
        better parent); font size and line height travel together (they are one trait: the line's pitch), as
        do the two margins."""
        out: dict[str, Any] = {}
        linked = (("font-size", "line-height"), ("margin-x", "margin-y"))
        done: set[str] = set()
        for group in linked:
            if any(k in self.params for k in group):
                parent = a if rng.random() < bias else b
                for k in group:
                    if k in self.params:
                        out[k] = parent.get(k)
                        done.add(k)
        for k in self.params:
            if k not in done:
                out[k] = (a if rng.random() < bias else b).get(k)
        return self.repair(out)

    def problems(self, theta: dict[str, Any]) -> list[str]:
        """Why a θ is invalid (empty: it is valid)."""
        out = [f"{k}={theta.get(k)!r} is outside the space" for k, p in self.params.items()
               if not p.contains(theta.get(k))]
        try:
            cfg = self.config(theta)
        except ConfigError as e:
            return out + [str(e)]
        width, height = cfg.page_size
        if cfg.line_height < cfg.font_size:
            out.append(f"line height {cfg.line_height} is below the font size {cfg.font_size}")
        if ("line-height" in self.params and "font-size" in self.params
                and cfg.line_height > cfg.font_size + MAX_LEADING):
            out.append(f"line height {cfg.line_height} is over the font size {cfg.font_size} + {MAX_LEADING:g}")
        text_w = width - 2 * cfg.margin_x - cfg.left_indent - cfg.right_indent
        if text_w < MIN_TEXT_WIDTH * width:
            out.append(f"margins and indents leave {text_w:g} of the page's {width:g} points for text")
        if height - 2 * cfg.margin_y < MIN_TEXT_HEIGHT * height:
            out.append(f"margins leave {height - 2 * cfg.margin_y:g} of the page's {height:g} points for text")
        return out

    def repair(self, theta: dict[str, Any]) -> dict[str, Any]:
        """The nearest valid θ: values brought into their ranges, line height raised to the font size, margins
        and indents shrunk until the text keeps its share of the page."""
        out = {}
        rng = random.Random(0)
        for k, p in self.params.items():
            v = theta.get(k)
            if not p.contains(v):
                v = p.snap(v) if p.kind in ("float", "int") and isinstance(v, (int, float)) else (
                    p.value if p.kind == "fixed" else p.sample(rng))
            out[k] = v
        base = self.base_config()
        size = out.get("font-size", base.font_size)
        lh = self.params.get("line-height")
        if lh is not None and lh.kind in ("float", "int"):  # the line height follows the font size
            top = size + MAX_LEADING if "font-size" in self.params else lh.high
            height = lh.snap(min(max(out["line-height"], size), top))
            if height > top and lh.step:
                height = lh.snap(height - lh.step)  # the step rounded it over the top
            if height < size and lh.step:
                height = lh.snap(height + lh.step)
            out["line-height"] = height
        height = out.get("line-height", base.line_height)
        if height < size and "font-size" in self.params and self.params["font-size"].kind != "fixed":
            out["font-size"] = self.params["font-size"].snap(height)  # the size gives way where the height cannot
        for _ in range(40):  # margins and indents shrink a step at a time until the text has its room
            issues = [p for p in self.problems(out) if "margins" in p]
            if not issues:
                break
            for k in ("margin-x", "margin-y", "left-indent", "right-indent"):
                if k in self.params and self.params[k].kind in ("float", "int"):
                    p = self.params[k]
                    out[k] = p.snap(out[k] - max(p.step, (p.high - p.low) / 10))
        return out

    def config(self, theta: dict[str, Any]) -> RenderConfig:
        """θ as a render config: the base with these keys (a key whose value is a group of keys, such as a
        colour theme, gives each of them)."""
        return RenderConfig.from_dict(expand(theta), base=self.base_config())

    def project(self, values: dict[str, Any]) -> dict[str, Any]:
        """A config's values (``RenderConfig.to_dict()``) as this space's keys: a grouped key takes the option
        that matches them, or, where none does, the group of their own values."""
        out = {}
        for k, p in self.params.items():
            groups = [o for o in p.options if isinstance(o, dict)] if p.kind == "choice" else []
            if groups:
                keys = {key for o in groups for key in o}
                own = {key: values.get(key) for key in sorted(keys)}
                out[k] = next((o for o in groups if all(values.get(key) == v for key, v in o.items())
                               and all(key in o or own[key] in (0, None) for key in keys)), own)
            else:
                out[k] = values.get(k)
        return out

    def freeze(self, keys: dict[str, Any]) -> Space:
        """The same space with ``keys`` fixed at these values."""
        params = dict(self.params)
        for k, v in keys.items():
            params[k] = Param("fixed", value=v)
        return Space(params, self.base, self.name)

    # ---- files ---------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "base": self.base, "keys": {k: p.to_dict() for k, p in self.params.items()}}

    @classmethod
    def from_dict(cls, data: Any) -> Space:
        if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
            raise ConfigError('a search space is an object with "keys": {key: {choice|float|int|fixed: ...}}')
        return cls({k: Param.from_dict(k, v) for k, v in data["keys"].items()}, str(data.get("base", "glyph-en")),
                   str(data.get("name", "custom")))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def step(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The keys ``after`` changed from ``before``, each as (before, after): what ``Space.stride`` takes again."""
    return {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}


def expand(theta: dict[str, Any]) -> dict[str, Any]:
    """θ keys, with a grouped value (``{"colours": {"font-color": ..., "page-bg-color": ...}}``) spread into its
    keys."""
    out: dict[str, Any] = {}
    for k, v in theta.items():
        if isinstance(v, dict):
            out.update(v)
        else:
            out[k] = v
    return out


def load_space(spec: str | Path) -> Space:
    """A preset's name (``en``, ``zh``, ``code``) or a JSON or YAML file."""
    if str(spec) in SPACES:
        return Space.from_dict(SPACES[str(spec)])
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"{spec}: neither a space preset ({', '.join(SPACES)}) nor a file")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ConfigError(f"{spec}: reading YAML needs PyYAML (pip install pyyaml), or write it as JSON") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError(f"{spec}: not valid YAML ({str(e).splitlines()[0]})") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{spec}: not valid JSON ({e})") from None
    return Space.from_dict(data)


# The paper's Table 8 as priors (see the reference facts): dpi mostly normal/medium with small spikes, paper
# sizes, font sizes 7-14 pt with line height the size plus 0-3, mostly left or justified, margins 10-40 pt,
# indents (none, first-line of 1-2.5 em, block, hanging), small or no paragraph spacing, horizontal scale
# 0.75-1.0 likelier near 1, colour themes as coherent (page, paragraph, font) triplets, light and dark.
def _colours(page: str, para: str, font: str) -> dict[str, str]:
    return {"page-bg-color": page, "para-bg-color": para, "font-color": font}


THEMES = {  # document, web, dark and code styles
    "document": _colours("#FFFFFF", "#FFFFFF", "#000000"), "paper": _colours("#FFFDF5", "#FFFDF5", "#1A1A1A"),
    "web": _colours("#FFFFFF", "#F6F8FA", "#24292F"), "wiki": _colours("#F8F9FA", "#FFFFFF", "#202122"),
    "dark": _colours("#0D1117", "#0D1117", "#E6EDF3"), "dark-grey": _colours("#1E1E1E", "#1E1E1E", "#D4D4D4"),
    "code": _colours("#F6F8FA", "#F6F8FA", "#24292E"), "code-dark": _colours("#282C34", "#282C34", "#ABB2BF"),
}
INDENTS = [{"first-line-indent": 0, "left-indent": 0, "right-indent": 0},  # none
           {"first-line-indent": 9, "left-indent": 0, "right-indent": 0},  # first line, 1-2.5 em
           {"first-line-indent": 14, "left-indent": 0, "right-indent": 0},
           {"first-line-indent": 22, "left-indent": 0, "right-indent": 0},
           {"first-line-indent": 0, "left-indent": 18, "right-indent": 18},  # block
           {"first-line-indent": -14, "left-indent": 14, "right-indent": 0}]  # hanging
_COMMON = {
    "dpi": {"choice": [45, 50, 60, 66, 72, 80, 96, 100, 110, 120], "weights": [1, 2, 3, 3, 8, 6, 6, 2, 1, 1]},
    "page-size": {"choice": ["595,842", "612,792", "420,595", "499,709", "842,1191", "595,595", "842,595"],
                  "weights": [6, 4, 2, 1, 1, 1, 1]},
    "font-size": {"float": [7, 14], "step": 0.5},
    "line-height": {"float": [7, 17], "step": 0.5},
    "margin-x": {"float": [10, 40], "step": 1},
    "margin-y": {"float": [10, 40], "step": 1},
    "alignment": {"choice": ["LEFT", "JUSTIFY", "RIGHT", "CENTER"], "weights": [10, 8, 1, 1]},
    "horizontal-scale": {"float": [0.75, 1.0], "step": 0.01, "prior": "near-high"},
    "indent": {"choice": INDENTS, "weights": [12, 2, 2, 2, 1, 1]},
    "space-before": {"choice": [0, 2, 6], "weights": [6, 2, 1]},
    "space-after": {"choice": [0, 2, 6], "weights": [6, 2, 1]},
    "letter-spacing": {"float": [-0.5, 0.5], "step": 0.05},
    "newline-markup": {"choice": ["<br/>", "<font color=\"#FF0000\"> \\n </font>"], "weights": [9, 1]},
    "columns": {"choice": [1, 2], "weights": [8, 2]},
    "colours": {"choice": list(THEMES.values()), "weights": [10, 3, 2, 2, 2, 1, 1, 1]},
}
SPACES: dict[str, dict[str, Any]] = {
    "en": {"name": "en", "base": "glyph-en",
           "keys": {**_COMMON, "font-family": {"choice": ["sans", "serif", "mono"], "weights": [5, 4, 1]}}},
    "zh": {"name": "zh", "base": "glyph-zh",
           "keys": {**_COMMON, "font-family": {"fixed": "cjk"},
                    "alignment": {"choice": ["LEFT", "JUSTIFY"], "weights": [1, 1]}}},
    "code": {"name": "code", "base": "code",
             "keys": {**{k: v for k, v in _COMMON.items() if k not in ("alignment", "indent", "columns", "colours")},
                      "font-family": {"fixed": "mono"}, "alignment": {"fixed": "LEFT"},
                      "first-line-indent": {"fixed": 0}, "columns": {"choice": [1, 2], "weights": [7, 3]},
                      "colours": {"choice": [THEMES[k] for k in ("code", "document", "code-dark", "dark")],
                                  "weights": [4, 3, 2, 1]}}},
}
