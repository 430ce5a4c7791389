"""Context-budget fitting: choose θ so a document fits a model's context.

Start from the model's preset and move to denser settings (visible newline markers, smaller type,
smaller margins, lower dpi) until the vision tokens fit the budget. Long plain texts are estimated
from a laid-out prefix, so a 1M-token text is laid out in full at most twice and drawn once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import MARKER_NEWLINE, RenderConfig, preset
from ..errors import GlyphpressError
from .registry import ModelSpec

# each step adds to the ones before it
LADDER: tuple[tuple[str, dict], ...] = (
    ("model preset", {}),
    ("dpi 72", {"dpi": 72}),
    ("newline markers", {"newline-markup": MARKER_NEWLINE}),
    ("8/9 pt type", {"font-size": 8, "line-height": 9}),
    ("7/7.5 pt type, 5 pt margins", {"font-size": 7, "line-height": 7.5, "margin-x": 5, "margin-y": 5}),
    ("dpi 60", {"dpi": 60}),
    ("dpi 50", {"dpi": 50}),
)
PREFIX_CHARS = 400_000  # longer plain texts are estimated from a prefix this long
SAFETY = 1.02


class BudgetError(GlyphpressError):
    """Even the densest allowed θ does not fit."""


@dataclass
class Plan:
    config: RenderConfig
    step: str
    budget: int
    vision_tokens: int  # measured, or estimated from a prefix (``estimated``)
    estimated: bool
    tried: list[tuple[str, int, bool]] = field(default_factory=list)  # (step, vision tokens, estimated?)
    denser: list[tuple[str, RenderConfig]] = field(default_factory=list)  # the steps after this one


def _measure(content, cfg: RenderConfig, spec: ModelSpec) -> int:
    """Vision tokens of ``content`` under ``cfg``, without keeping pixels."""
    from ..content import Content
    from ..pipeline import pages

    return sum(p.vision_tokens for p in pages(Content.of(content), cfg, spec.geometry, draw=False))


def ladder(spec: ModelSpec, base: RenderConfig | None = None) -> list[tuple[str, RenderConfig]]:
    """The model's preset, then denser and denser θ (steps that change nothing are skipped)."""
    cfg = base or preset(spec.preset)
    out = [("model preset", cfg)]
    for name, changes in LADDER[1:]:
        if not _noop(cfg, changes):
            cfg = cfg.with_overrides([f"{k}={v}" for k, v in changes.items()])
            out.append((name, cfg))
    return out


def plan(content, spec: ModelSpec, budget: int | None = None, reserve: int = 1024,
         base: RenderConfig | None = None) -> Plan:
    """The first θ on the ladder whose pages fit ``budget`` vision tokens (default: context - reserve).

    Short inputs are laid out in full for each step (layout only, no pixels). Plain texts over
    2 x PREFIX_CHARS are estimated from their first PREFIX_CHARS, so they are laid out in full only
    when drawn; if the drawing shows the estimate was short, the caller takes ``denser[0]``. Images are fitted
    into each θ's page, so they go down the ladder too (its lower dpi makes them smaller); a raster PDF's pages
    are what they are.
    """
    from ..document.pdf import RasterDocument

    budget = budget if budget is not None else spec.context - reserve
    if budget <= 0:
        raise BudgetError(f"no room for pages: the budget is {budget} tokens")
    steps = ladder(spec, base)
    if isinstance(content, RasterDocument):  # pages are what they are: nothing to choose
        vt = _measure(content, steps[0][1], spec)
        if vt > budget:
            raise BudgetError(f"the {len(content.sizes)} raster pages take {vt:,} vision tokens, {vt - budget:,} over "
                              f"the budget of {budget:,}; lower --pdf-dpi or use --pdf-mode rerender")
        return Plan(steps[0][1], "raster pages", budget, vt, False, [("raster pages", vt, False)])
    long = isinstance(content, str) and len(content) > 2 * PREFIX_CHARS
    head = content
    if long:
        head = content[:PREFIX_CHARS]
        cut = head.rfind("\n")
        head = head[: cut + 1] if cut > PREFIX_CHARS // 2 else head
    tried: list[tuple[str, int, bool]] = []
    for i, (name, cfg) in enumerate(steps):
        if long:
            vt = int(_measure(head, cfg, spec) * len(content) / len(head) * SAFETY)
        else:
            vt = _measure(content, cfg, spec)
        tried.append((name, vt, long))
        if vt <= budget:
            return Plan(cfg, name, budget, vt, long, tried, steps[i + 1:])
    best = min(t[1] for t in tried)
    raise BudgetError(f"does not fit: even the densest θ ({tried[-1][0]}) needs about {best:,} vision tokens, "
                      f"{best - budget:,} over the budget of {budget:,}; use a model with a longer context or "
                      "split the document")


def _noop(cfg: RenderConfig, changes: dict) -> bool:
    """A step that would not make ``cfg`` denser (it is already there or beyond)."""
    for key, value in changes.items():
        current = cfg.to_dict()[key]
        if key == "newline-markup":
            if cfg.newline.text is None:
                return False
        elif isinstance(value, (int, float)) and isinstance(current, (int, float)):
            if current > value:
                return False
        elif current != value:
            return False
    return True
