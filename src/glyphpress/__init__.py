"""glyphpress: render long text into compact page images that vision-language models read."""

__version__ = "0.1.0"

from .api import Page, Rendered, Renderer, count, render, render_to_dir, shutdown_workers  # noqa: E402
from .config import PRESETS, RenderConfig, load_config, preset  # noqa: E402
from .errors import ConfigError, GlyphpressError, InputError  # noqa: E402
from .tokens.text import text_tokenizer  # noqa: E402
from .tokens.vision import VISION_MODELS, VisionModel, vision_model  # noqa: E402
from .vlm.ask import AskResult, Session, ask, ask_async  # noqa: E402

__all__ = ["__version__", "RenderConfig", "PRESETS", "preset", "load_config", "GlyphpressError",
           "ConfigError", "InputError", "Page", "Rendered", "Renderer", "render", "render_to_dir",
           "count", "shutdown_workers", "text_tokenizer", "vision_model", "VisionModel", "VISION_MODELS", "ask",
           "ask_async", "Session", "AskResult"]
