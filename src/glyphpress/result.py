"""What a render returns: pages with their accounting, and the manifest that describes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from . import __version__, manifest
from .config import RenderConfig
from .tokens.vision import VisionModel


@dataclass
class Page:
    index: int  # 0-based
    width: int
    height: int
    source_range: tuple[int, int]  # [start, end) in the (newline-normalised) text
    vision_tokens: int  # positions in the VLM sequence, image wrapper tokens included
    image_tokens: int  # the image's placeholder tokens alone
    text_tokens: int | None = None  # tokens of this page's text on its own
    image: Image.Image | None = None
    file: str | None = None
    # where the page's lines are: rows of (source start, source end, x0, y0, x1, y1), the box in the image's
    # pixels; None for pages not laid out here (images, raster PDF pages) or drawn in other processes
    lines: np.ndarray | None = field(default=None, repr=False)

    def set_size(self, width: int, height: int, model: VisionModel) -> None:
        """The image's size, and the vision tokens ``model`` spends on it."""
        self.width, self.height = width, height
        self.vision_tokens, self.image_tokens = model.tokens(width, height), model.image_tokens(width, height)


@dataclass
class Rendered:
    config: RenderConfig
    model: VisionModel
    tokenizer: str | None
    text_tokens: int | None
    characters: int
    pages: list[Page]
    timings: dict[str, float] = field(default_factory=dict)
    name: str = "text"
    sha256: str = ""
    format: str = "text"
    documents: list[dict[str, Any]] = field(default_factory=list)  # the parts of a bundle
    missing_glyphs: dict[str, int] = field(default_factory=dict)  # characters drawn that no font has: count
    source: str = field(default="", repr=False)  # the text the pages' source ranges index

    @property
    def vision_tokens(self) -> int:
        return sum(p.vision_tokens for p in self.pages)

    @property
    def ratio(self) -> float | None:
        """ρ = text tokens / vision tokens."""
        return None if self.text_tokens is None else self.text_tokens / max(1, self.vision_tokens)

    def manifest(self) -> dict[str, Any]:
        m = self.model
        return {
            "schema": manifest.SCHEMA, "version": manifest.VERSION,
            "created_by": f"glyphpress {__version__}",
            "source": {"name": self.name, "format": self.format, "characters": self.characters,
                       "sha256": self.sha256},
            **({"documents": self.documents} if self.documents else {}),
            "theta": self.config.to_dict(),
            "pages": [{"file": p.file, "width": p.width, "height": p.height,
                       "source_range": list(p.source_range), "text_tokens": p.text_tokens,
                       "vision_tokens": p.vision_tokens, "image_tokens": p.image_tokens}
                      for p in self.pages],
            "totals": {"pages": len(self.pages), "characters": self.characters,
                       "text_tokens": self.text_tokens, "vision_tokens": self.vision_tokens,
                       "compression_ratio": None if self.ratio is None else round(self.ratio, 4),
                       "tokenizer": self.tokenizer,
                       "missing_glyphs": {"characters": sum(self.missing_glyphs.values()),
                                          "distinct": self.missing_glyphs},
                       "vision_model": {"name": m.name, "patch_size": m.patch_size,
                                        "merge_size": m.merge_size, "min_pixels": m.min_pixels,
                                        "max_pixels": m.max_pixels,
                                        "special_tokens_per_image": m.special_tokens}},
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "pages": len(self.pages), "characters": self.characters,
                "text_tokens": self.text_tokens, "vision_tokens": self.vision_tokens,
                "compression_ratio": None if self.ratio is None else round(self.ratio, 3),
                "tokenizer": self.tokenizer, "vision_model": self.model.name,
                "missing_glyphs": sum(self.missing_glyphs.values())}
