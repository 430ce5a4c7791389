"""Vision-token geometry of real VLMs: how many LLM positions one page image takes.

Each family resizes an image to a grid of ``patch_size * merge_size`` cells exactly as its image
processor in transformers does (round to the grid, then scale into [min_pixels, max_pixels]);
one merged cell is one vision token, and each image is wrapped in special tokens (none for ``generic``,
which only rounds up to the patch grid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import GlyphpressError


@dataclass(frozen=True)
class VisionModel:
    name: str
    rule: str  # "qwen2" (Qwen2-VL, Qwen2.5-VL, Qwen3-VL), "glm4v", or "generic"
    patch_size: int
    merge_size: int
    min_pixels: int
    max_pixels: int
    special_tokens: int  # per image, e.g. <|vision_start|> ... <|vision_end|>
    temporal_patch_size: int = 2
    hub_ids: tuple[str, ...] = ()

    @property
    def factor(self) -> int:
        return self.patch_size * self.merge_size

    def resized(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) the image processor resizes a page to."""
        if width < 1 or height < 1:
            raise GlyphpressError(f"image size must be positive, got {width}x{height}")
        f = self.factor
        if self.rule == "generic":
            return math.ceil(width / f) * f, math.ceil(height / f) * f
        if max(width, height) / min(width, height) > 200:
            raise GlyphpressError(f"{self.name}: aspect ratio of {width}x{height} is over 200")
        t = self.temporal_patch_size if self.rule == "glm4v" else 1
        if self.rule == "glm4v" and (width < f or height < f):
            raise GlyphpressError(f"{self.name}: images must be at least {f}x{f} pixels, got {width}x{height}")
        h_bar = round(height / f) * f
        w_bar = round(width / f) * f
        if t * h_bar * w_bar > self.max_pixels:
            beta = math.sqrt(t * height * width / self.max_pixels)
            h_bar = max(f, math.floor(height / beta / f) * f)
            w_bar = max(f, math.floor(width / beta / f) * f)
        elif t * h_bar * w_bar < self.min_pixels:
            beta = math.sqrt(self.min_pixels / (t * height * width))
            h_bar = math.ceil(height * beta / f) * f
            w_bar = math.ceil(width * beta / f) * f
        return w_bar, h_bar

    def image_tokens(self, width: int, height: int) -> int:
        """Placeholder tokens the image's features fill (what the processor expands to)."""
        w, h = self.resized(width, height)
        return (w // self.factor) * (h // self.factor)

    def tokens(self, width: int, height: int) -> int:
        """All positions the image takes in the sequence, its wrapper tokens included."""
        return self.image_tokens(width, height) + self.special_tokens


_QWEN2 = dict(rule="qwen2", patch_size=14, merge_size=2, min_pixels=56 * 56, max_pixels=28 * 28 * 16384,
              special_tokens=2)
VISION_MODELS: dict[str, VisionModel] = {
    m.name: m
    for m in (
        VisionModel("qwen2-vl", **_QWEN2, hub_ids=("Qwen/Qwen2-VL-2B-Instruct", "Qwen/Qwen2-VL-7B-Instruct")),
        VisionModel("qwen2.5-vl", **_QWEN2, hub_ids=("Qwen/Qwen2.5-VL-3B-Instruct", "Qwen/Qwen2.5-VL-7B-Instruct")),
        VisionModel("qwen3-vl", rule="qwen2", patch_size=16, merge_size=2, min_pixels=65536,
                    max_pixels=16777216, special_tokens=2, hub_ids=("Qwen/Qwen3-VL-8B-Instruct",)),
        VisionModel("glm-4.1v", rule="glm4v", patch_size=14, merge_size=2, min_pixels=112 * 112,
                    max_pixels=28 * 28 * 15000, special_tokens=2,
                    hub_ids=("zai-org/Glyph", "zai-org/GLM-4.1V-9B-Base", "THUDM/GLM-4.1V-9B-Thinking")),
        VisionModel("generic", rule="generic", patch_size=14, merge_size=2, min_pixels=0,
                    max_pixels=2**62, special_tokens=0),
    )
}
DEFAULT_VISION_MODEL = "glm-4.1v"  # Glyph's backbone


def vision_model(name: str | VisionModel | None = None) -> VisionModel:
    """A registered geometry by short name or hub id (``Qwen/Qwen2.5-VL-7B-Instruct``, ``zai-org/Glyph``)."""
    if isinstance(name, VisionModel):
        return name
    key = (name or DEFAULT_VISION_MODEL).strip()
    low = key.lower()
    if low in VISION_MODELS:
        return VISION_MODELS[low]
    for m in VISION_MODELS.values():
        if any(low == h.lower() for h in m.hub_ids):
            return m
    tail = low.rsplit("/", 1)[-1]
    for prefix, short in (("qwen2.5-vl", "qwen2.5-vl"), ("qwen2-vl", "qwen2-vl"), ("qwen3-vl", "qwen3-vl"),
                          ("glm-4.1v", "glm-4.1v"), ("glyph", "glm-4.1v")):
        if tail.startswith(prefix):
            return VISION_MODELS[short]
    raise GlyphpressError(f"unknown vision model {name!r}; known: {', '.join(VISION_MODELS)} "
                          "(or a hub id of one of them)")
