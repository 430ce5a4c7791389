"""glyphpress: render long text into compact page images that vision-language models read."""

__version__ = "0.1.0"

import importlib  # noqa: E402

from .config import PRESETS, RenderConfig, load_config, preset  # noqa: E402
from .errors import ConfigError, GlyphpressError, InputError  # noqa: E402
from .pipeline import Renderer, count, render, render_to_dir  # noqa: E402
from .result import Page, Rendered  # noqa: E402
from .tokens.text import text_tokenizer  # noqa: E402
from .tokens.vision import VISION_MODELS, VisionModel, vision_model  # noqa: E402

# imported when first used: a plain render needs none of them
_LAZY = {"shutdown_workers": "glyphpress.parallel", "ask": "glyphpress.vlm.ask", "ask_async": "glyphpress.vlm.ask",
         "Session": "glyphpress.vlm.ask", "AskResult": "glyphpress.vlm.ask"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'glyphpress' has no attribute {name!r}")


__all__ = ["__version__", "RenderConfig", "PRESETS", "preset", "load_config", "GlyphpressError",
           "ConfigError", "InputError", "Page", "Rendered", "Renderer", "render", "render_to_dir",
           "count", "shutdown_workers", "text_tokenizer", "vision_model", "VisionModel", "VISION_MODELS", "ask",
           "ask_async", "Session", "AskResult"]
