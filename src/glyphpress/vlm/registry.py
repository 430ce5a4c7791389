"""What glyphpress knows about each VLM: vision-token geometry, the θ it reads best, its context
length, its prompt layout and stop strings. Unknown models work with explicit settings."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import GlyphpressError
from ..tokens.vision import VisionModel, vision_model


@dataclass(frozen=True)
class ModelSpec:
    name: str  # what the server or the hub calls it
    vision: str  # a VISION_MODELS geometry
    preset: str  # the θ it reads best
    context: int  # tokens
    stop: tuple[str, ...] = ()
    pages_first: bool = True  # the prompt layout Glyph was trained with: pages, then the question

    @property
    def geometry(self) -> VisionModel:
        return vision_model(self.vision)


MODELS: dict[str, ModelSpec] = {
    m.name.lower(): m
    for m in (
        ModelSpec("zai-org/Glyph", "glm-4.1v", "glyph-en", 131072, ("<|user|>", "<|endoftext|>")),
        ModelSpec("zai-org/GLM-4.1V-9B-Thinking", "glm-4.1v", "readable", 65536, ("<|user|>", "<|endoftext|>")),
        ModelSpec("Qwen/Qwen2.5-VL-7B-Instruct", "qwen2.5-vl", "readable", 32768, ("<|im_end|>",)),
        ModelSpec("Qwen/Qwen2.5-VL-3B-Instruct", "qwen2.5-vl", "readable", 32768, ("<|im_end|>",)),
        ModelSpec("Qwen/Qwen2-VL-7B-Instruct", "qwen2-vl", "readable", 32768, ("<|im_end|>",)),
        ModelSpec("Qwen/Qwen3-VL-8B-Instruct", "qwen3-vl", "readable", 262144, ("<|im_end|>",)),
    )
}
DEFAULT_MODEL = "zai-org/Glyph"


def model_spec(name: str | None = None, *, context: int | None = None, vision: str | None = None,
               preset: str | None = None) -> ModelSpec:
    """A registered model (by hub id, or its last path part), with overrides; an unknown model needs
    ``context`` and otherwise reads with the generic geometry and glyph-en."""
    name = name or DEFAULT_MODEL
    low = name.lower()
    spec = MODELS.get(low) or next((m for m in MODELS.values() if m.name.lower().rsplit("/", 1)[-1] == low), None)
    if spec is None:
        if context is None:
            known = ", ".join(m.name for m in MODELS.values())
            raise GlyphpressError(f"unknown model {name!r}: give its context length (--context) and, ideally, its "
                                  f"vision geometry (--vision-model); known: {known}")
        spec = ModelSpec(name, vision or _guess_vision(name), preset or "glyph-en", context)
    changes = {k: v for k, v in (("context", context), ("vision", vision), ("preset", preset)) if v is not None}
    spec = replace(spec, **changes)
    vision_model(spec.vision)  # a clear error for a bad geometry name
    if spec.context < 256:
        raise GlyphpressError(f"context length {spec.context} is too small to hold pages and a question")
    return spec


def _guess_vision(name: str) -> str:
    try:
        return vision_model(name).name
    except GlyphpressError:
        return "generic"
