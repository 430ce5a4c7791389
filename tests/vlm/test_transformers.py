"""The transformers backend end to end on a tiny random Qwen2-VL: pages reach the model, the image
tokens in the real input ids equal the predicted vision tokens, and generation streams."""

import asyncio

import pytest

from glyphpress import render
from glyphpress.vlm.ask import Session
from glyphpress.vlm.base import Generation, Request
from glyphpress.vlm.local import TransformersBackend
from glyphpress.vlm.registry import model_spec

from .. import needs

needs_torch = needs.package("torch", "transformers")


@pytest.fixture
def tiny(tiny_vlm):
    return tiny_vlm


@needs_torch
def test_image_tokens_in_input_ids_match_prediction(tiny):
    be = TransformersBackend(tiny, device="cpu")
    r = render("The secret number in this report is 42. " * 400, "glyph-en", model="qwen2-vl", count_text=False)
    inputs = be.inputs(Request("What is the number?", images=[p.image for p in r.pages]))
    assert "pixel_values" in inputs and inputs["pixel_values"].shape[0] > 0
    image_token = be.net.config.image_token_id
    assert int((inputs["input_ids"] == image_token).sum()) == sum(p.image_tokens for p in r.pages)


@needs_torch
def test_generation_streams_through_a_session(tiny):
    be = TransformersBackend(tiny, device="cpu")
    spec = model_spec(tiny, context=32768, vision="qwen2-vl", preset="glyph-en")
    session = Session("A short report. The number is 42.\n" * 50, be, spec, gen=Generation(max_tokens=6))
    pieces = []
    result = asyncio.run(session.ask_async("What is the number?", on_text=pieces.append))
    assert pieces and "".join(pieces) == result.visual.answer
    assert result.visual.usage.completion_tokens and result.visual.usage.completion_tokens <= 6
    # the engine's own prompt length: image tokens plus the question and template
    assert result.visual.usage.prompt_tokens >= result.vision_tokens - 2 * result.pages


@needs_torch
def test_missing_model_folder_is_a_clear_error(tmp_path):
    from glyphpress import GlyphpressError

    with pytest.raises(GlyphpressError, match="cannot load model"):
        TransformersBackend(str(tmp_path / "nothing-here"), device="cpu")
