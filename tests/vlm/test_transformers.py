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


@needs_torch
def test_the_streamer_hands_on_every_token_and_no_broken_character(tiny):
    import torch
    from transformers import AutoTokenizer

    from glyphpress.vlm.local import _token_streamer

    tok = AutoTokenizer.from_pretrained(tiny)
    text = "answer: forty-two, déjà vu 你好\nnext line"
    ids = tok.encode(text)
    streamer = _token_streamer(tok, skip_prompt=True, skip_special_tokens=True, timeout=5)
    streamer.put(torch.tensor([tok.encode("What is the secret number?")]))  # the prompt: skipped
    assert streamer.text_queue.empty()
    pieces = []
    for i in ids:
        streamer.put(torch.tensor([i]))
        got = []
        while not streamer.text_queue.empty():
            got.append(streamer.text_queue.get())
        pieces.append("".join(got))
    streamer.end()
    assert streamer.text_queue.get() == "" and streamer.text_queue.get() is streamer.stop_signal  # nothing twice
    assert pieces[0] == tok.decode(ids[:1]) != ""  # the first token at once, not at the first space
    assert not any("\ufffd" in p for p in pieces)
    assert "".join(pieces) == text
    # a token that ends mid-character hands on nothing; the next one completes it
    split = [k for k in range(len(ids)) if "\ufffd" in tok.decode(ids[: k + 1])[-1:]]
    assert split and all(pieces[k] == "" for k in split)


@needs_torch
def test_a_model_in_memory_is_wrapped_and_streams(tiny):
    from transformers import AutoModelForImageTextToText

    from glyphpress.vlm.local import load_processor

    net = AutoModelForImageTextToText.from_pretrained(tiny)
    be = TransformersBackend.wrap(net, load_processor(tiny), "tiny-in-memory")
    assert be.model == "tiny-in-memory" and str(be.device) == "cpu"

    async def run():
        return [p async for p in be.stream(Request("What is the number?", text="The number is 42.",
                                                   gen=Generation(max_tokens=5)))]

    pieces = asyncio.run(run())
    assert "".join(p.text for p in pieces).strip()
    assert pieces[-1].usage is not None and 1 <= pieces[-1].usage.completion_tokens <= 5


@needs_torch
def test_a_stream_stopped_inside_a_character_ends_without_losing_what_came(tiny):
    import torch
    from transformers import AutoTokenizer

    from glyphpress.vlm.local import _token_streamer

    tok = AutoTokenizer.from_pretrained(tiny)
    ids = tok.encode("ok 你")
    cut = next(k for k in range(len(ids)) if tok.decode(ids[: k + 1]).endswith("\ufffd"))
    streamer = _token_streamer(tok, skip_prompt=False, timeout=5)
    for i in ids[: cut + 1]:
        streamer.put(torch.tensor([i]))
    streamer.end()
    got = []
    while (piece := streamer.text_queue.get()) is not streamer.stop_signal:
        got.append(piece)
    assert "".join(got).startswith("ok ") and got[0] == tok.decode(ids[:1])


@needs_torch
def test_the_attention_kernel_is_chosen_and_a_bad_one_is_one_line(tiny, tmp_path):
    import subprocess
    import sys

    be = TransformersBackend(tiny, device="cpu", attn="eager")
    assert be.net.config._attn_implementation == "eager"
    doc = tmp_path / "doc.txt"
    doc.write_text("The number is 42.\n" * 20)
    bad = subprocess.run([sys.executable, "-m", "glyphpress", "ask", str(doc), "-q", "What is the number?",
                          "--backend", "transformers", "--model", tiny, "--context", "32768", "--vision-model",
                          "qwen2-vl", "--attn", "bogus"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "bogus" in bad.stderr and bad.stderr.count("\n") == 1, bad.stderr[-800:]
