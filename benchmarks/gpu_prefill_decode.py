"""Prefill and decode time for the same content as text tokens and as rendered pages (GPU).

    python benchmarks/gpu_prefill_decode.py                 # Qwen2.5-VL-7B architecture, 8K/32K/128K
    python benchmarks/gpu_prefill_decode.py --tiny --device cpu   # a smoke test of this script

Speed does not depend on the weights, so the model is a real-size architecture with random weights
(no download). The text route feeds N text tokens; the visual route feeds the pages θ makes (glyph-en, or -c) of
the same text (the essays corpus, repeated to N Qwen tokens), through the vision encoder. Prints
prefill seconds, decode milliseconds per token and the speedups (the Glyph paper reports up to 4.8x
prefill and 4.4x decode at 128K).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import essays  # noqa: E402


def config(tiny: bool):
    from transformers import Qwen2_5_VLConfig

    if tiny:
        text = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                    num_key_value_heads=2, rope_scaling={"type": "mrope", "mrope_section": [4, 2, 2]})
        vision = dict(depth=2, hidden_size=64, intermediate_size=128, num_heads=4, out_hidden_size=64,
                      fullatt_block_indexes=[1], window_size=112)
    else:  # Qwen2.5-VL-7B-Instruct
        text = dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                    num_key_value_heads=4, rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24]})
        vision = dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=3584,
                      fullatt_block_indexes=[7, 15, 23, 31], window_size=112)
    return Qwen2_5_VLConfig(vocab_size=152064, max_position_embeddings=262144, vision_config=dict(
        vision, patch_size=14, spatial_merge_size=2, temporal_patch_size=2, in_chans=3), image_token_id=151655,
        video_token_id=151656, vision_start_token_id=151652, vision_end_token_id=151653, **text)


def page_inputs(text: str, theta, cfg, proc, device, dtype):
    """The pages θ makes of ``text`` as a Qwen2.5-VL input: (pages, the token ids of the pages, each image's
    placeholders between its start and end tokens, and the vision tensors on ``device``)."""
    from glyphpress import render

    pages = render(text, theta, model="qwen2.5-vl", count_text=False).pages
    feats = proc(images=[p.image for p in pages], return_tensors="pt")
    ids: list[int] = []
    for p in pages:
        ids += [cfg.vision_start_token_id] + [cfg.image_token_id] * p.image_tokens + [cfg.vision_end_token_id]
    return pages, ids, {"pixel_values": feats["pixel_values"].to(device, dtype),
                        "image_grid_thw": feats["image_grid_thw"].to(device)}


def sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(model, inputs, device, decode_tokens: int) -> tuple[float, float]:
    """(prefill seconds, decode seconds per token), greedy, batch 1."""
    import torch

    with torch.inference_mode():
        sync(device)
        t = time.perf_counter()
        out = model(**inputs, use_cache=True, logits_to_keep=1)
        sync(device)
        prefill = time.perf_counter() - t
        past = out.past_key_values
        token = out.logits[:, -1:].argmax(-1)
        n = inputs["input_ids"].shape[1]
        position = None
        if getattr(model.model, "rope_deltas", None) is not None:
            position = model.model.rope_deltas
        t = time.perf_counter()
        for k in range(decode_tokens):
            cache_position = torch.tensor([n + k], device=device)
            pos = (cache_position + (position if position is not None else 0)).view(1, 1, -1).expand(3, 1, -1)
            out = model(input_ids=token, past_key_values=past, use_cache=True, cache_position=cache_position,
                        position_ids=pos, logits_to_keep=1)
            past = out.past_key_values
            token = out.logits[:, -1:].argmax(-1)
        sync(device)
        decode = (time.perf_counter() - t) / max(1, decode_tokens)
    return prefill, decode


def options(ap: argparse.ArgumentParser) -> None:
    """The options every GPU timing script takes: the architecture's size, the device, the text-token sizes."""
    ap.add_argument("--tiny", action="store_true", help="a tiny architecture (smoke test)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--contexts", default=None, help="text-token sizes, e.g. 8192,32768,131072")
    ap.add_argument("-c", "--config", default="glyph-en", help="θ of the pages: a preset or a JSON file")
    ap.add_argument("--text", type=Path, default=None, help="the text repeated to N tokens (default: the essays)")
    ap.add_argument("--vision-attention", choices=("stock", "grouped"), default="stock",
                    help="the vision tower's window attention: transformers' loop over windows, or one call per "
                         "window size (grouped_vision_attention.py)")


def prepare(args: argparse.Namespace) -> SimpleNamespace:
    """What the GPU timing scripts start from, for ``options``: device and dtype, the text-token sizes, θ, the
    architecture's config and a model of it with random weights on the device, the Qwen tokenizer, the
    tokens of the text (the essays, or ``--text``), the image processor, and ``ids(n)``: the first n of those
    tokens, the text repeated as needed."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2VLImageProcessor

    from glyphpress.config import load_config
    from glyphpress.tokens.text import text_tokenizer

    device = torch.device(args.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    contexts = [int(c) for c in (args.contexts or ("512,2048" if args.tiny else "8192,32768,131072")).split(",")]
    theta = load_config(args.config)  # before the model: a bad θ fails at once
    if args.vision_attention == "grouped":
        from grouped_vision_attention import install

        install()
    cfg = config(args.tiny)
    with torch.device(device):
        model = Qwen2_5_VLForConditionalGeneration._from_config(cfg, dtype=dtype)
    tok = text_tokenizer("qwen2.5")
    ids_all = tok.encode(args.text.read_text(encoding="utf-8") if args.text else essays())
    proc = Qwen2VLImageProcessor(min_pixels=56 * 56, max_pixels=28 * 28 * 16384)
    return SimpleNamespace(device=device, dtype=dtype, contexts=contexts, theta=theta, cfg=cfg, model=model, tok=tok,
                           ids_all=ids_all, proc=proc, ids=lambda n: (ids_all * (n // len(ids_all) + 1))[:n])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options(ap)
    ap.add_argument("--decode-tokens", type=int, default=32)
    args = ap.parse_args()
    import torch

    s = prepare(args)
    device, dtype, cfg, tok, proc = s.device, s.dtype, s.cfg, s.tok, s.proc
    model = s.model.eval()
    print(f"model: Qwen2.5-VL {'tiny' if args.tiny else '7B'} architecture, random weights, {dtype}, {device}; "
          f"pages: {args.config}; vision attention: {args.vision_attention}")
    for n in s.contexts:
        ids = s.ids(n)
        text_inputs = {"input_ids": torch.tensor([ids], device=device)}
        text_inputs["attention_mask"] = torch.ones_like(text_inputs["input_ids"])
        pages, vis, vis_inputs = page_inputs(tok._enc.decode(ids), s.theta, cfg, proc, device, dtype)
        seq = vis + ids[:16]  # a question
        vis_inputs["input_ids"] = torch.tensor([seq], device=device)
        vis_inputs["attention_mask"] = torch.ones_like(vis_inputs["input_ids"])
        timed(model, {k: v[:, :64] if k in ("input_ids", "attention_mask") else v for k, v in text_inputs.items()},
              device, 2)  # warm-up
        tp, td = timed(model, text_inputs, device, args.decode_tokens)
        vp, vd = timed(model, vis_inputs, device, args.decode_tokens)
        print(f"{n:>7,} text tokens: text prefill {tp:.3f} s, decode {1000 * td:.1f} ms/token | pages "
              f"{len(pages)}, {len(seq):,} tokens: prefill {vp:.3f} s, decode {1000 * vd:.1f} ms/token | "
              f"speedup prefill {tp / vp:.2f}x, decode {td / vd:.2f}x")
        del text_inputs, vis_inputs
        if device.type == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
