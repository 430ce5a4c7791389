"""Vision tokens must equal what the real image processors in transformers produce."""

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from glyphpress import GlyphpressError, render, vision_model

from .. import needs

needs_transformers = needs.package("transformers")

SIZES = [(595, 842), (593, 842), (793, 1123), (595, 97), (32, 32), (1190, 1684), (446, 842),
         (2480, 3508), (100, 3000), (4000, 5000), (60, 40)]


def processor_tokens(proc, w, h):
    img = Image.fromarray(np.full((h, w, 3), 255, dtype=np.uint8))
    out = proc(images=[img], return_tensors="np")
    return int(np.prod(out["image_grid_thw"][0])) // proc.merge_size**2


# each model's image processor as its published preprocessor_config.json sets it up (the values written here
# from those files, never read from glyphpress): Qwen/Qwen2-VL-7B-Instruct and Qwen/Qwen2.5-VL-7B-Instruct
# give min_pixels 3136 and max_pixels 12845056, Qwen/Qwen3-VL-8B-Instruct patch 16 with edges 65536 and
# 16777216; GLM-4.1V's processor keeps its own defaults
PUBLISHED = {
    "qwen2-vl": ("Qwen2VLImageProcessor", dict(min_pixels=3136, max_pixels=12845056)),
    "qwen2.5-vl": ("Qwen2VLImageProcessor", dict(min_pixels=3136, max_pixels=12845056)),
    # (its file gives them as size's edges, which Qwen2VLImageProcessor.__init__ of transformers 4.57.1 drops)
    "qwen3-vl": ("Qwen2VLImageProcessor", dict(patch_size=16, merge_size=2, min_pixels=65536, max_pixels=16777216)),
    "glm-4.1v": ("Glm4vImageProcessor", {}),
}


@pytest.fixture(scope="module")
def processors():
    import transformers

    return {name: getattr(transformers, cls)(**kw) for name, (cls, kw) in PUBLISHED.items()}


@needs_transformers
@pytest.mark.parametrize("name", ["qwen2-vl", "qwen2.5-vl", "qwen3-vl", "glm-4.1v"])
@pytest.mark.parametrize("size", SIZES)
def test_image_tokens_match_transformers(processors, name, size):
    w, h = size
    assert vision_model(name).image_tokens(w, h) == processor_tokens(processors[name], w, h)


@needs_transformers
def test_rendered_pages_match_the_processor(processors):
    text = "A page of text to count. " * 2000
    for name in ("qwen2.5-vl", "glm-4.1v"):
        r = render(text, "glyph-en", model=name, count_text=False)
        for p in r.pages:
            assert p.image.size == (p.width, p.height)
            assert p.image_tokens == processor_tokens(processors[name], p.width, p.height)
            assert p.vision_tokens == p.image_tokens + 2


@needs_transformers
def test_glm_defaults_are_the_processor_defaults():
    from transformers.models.glm4v.image_processing_glm4v import Glm4vImageProcessor

    proc = Glm4vImageProcessor()
    m = vision_model("zai-org/Glyph")
    assert m.name == "glm-4.1v"
    assert (m.min_pixels, m.max_pixels) == (proc.size["shortest_edge"], proc.size["longest_edge"])
    assert (m.patch_size, m.merge_size, m.temporal_patch_size) == (proc.patch_size, proc.merge_size,
                                                                    proc.temporal_patch_size)


@needs_transformers
@pytest.mark.parametrize("size", SIZES)
def test_the_rule_at_the_processor_class_defaults(size):
    """Another pixel budget: Qwen2VLImageProcessor's own class defaults, glyphpress's rule given the same."""
    from transformers import Qwen2VLImageProcessor

    proc = Qwen2VLImageProcessor()
    m = replace(vision_model("qwen2.5-vl"), min_pixels=proc.min_pixels, max_pixels=proc.max_pixels)
    assert m.image_tokens(*size) == processor_tokens(proc, *size)


def test_a4_page_at_72dpi():
    # 595x842 -> 588x840 (21x30 cells) for Qwen2.5-VL
    assert vision_model("Qwen/Qwen2.5-VL-7B-Instruct").image_tokens(595, 842) == 21 * 30


def test_unknown_model_is_a_clear_error():
    with pytest.raises(GlyphpressError, match="unknown vision model"):
        vision_model("not-a-model")


def test_generic_patch_model():
    m = vision_model("generic")
    assert m.image_tokens(28, 28) == 1 and m.image_tokens(29, 28) == 2 and m.special_tokens == 0
