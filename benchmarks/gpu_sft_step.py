"""Time of one SFT step on the same samples given as text and as pages (GPU).

    python benchmarks/gpu_sft_step.py                      # Qwen2.5-VL-7B architecture, 8K/32K/128K text tokens
    python benchmarks/gpu_sft_step.py --tiny --device cpu  # a smoke test of this script

A step is what a trainer does per sample: a forward pass with labels on a 64-token answer, the backward pass
and the optimiser's update, with gradient checkpointing and bf16, on LoRA adapters (the 7B weights frozen: a
full 7B update does not fit one GPU with its optimiser states). Speed does not depend on the weights, so the
model is a real-size architecture with random weights (no download). The text route feeds N text tokens of
the essays; the visual route feeds the pages θ makes (glyph-en, or -c) of the same text through the vision encoder (the
vision tower trains too, as in the Glyph recipe). Prints seconds per step and the speedup (the Glyph paper
reports about 2x for SFT).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_prefill_decode import options, page_inputs, prepare, sync  # noqa: E402


def step(model, optimizer, inputs, device, repeats: int) -> tuple[float, int]:
    """(seconds per training step, the mean of ``repeats``; how many of the vision blocks' parameters got a
    gradient in the last step). The loss is taken on the answer's logits alone (``logits_to_keep``): the
    context's logits over a 152K vocabulary would take 40 GB at 128K tokens, and trainers avoid them (fused
    or chunked losses) on either route."""
    keep = inputs["labels"].shape[1]
    times = []
    for _ in range(repeats):
        optimizer.zero_grad(set_to_none=True)
        sync(device)
        t = time.perf_counter()
        loss = model(**inputs, logits_to_keep=keep).loss
        loss.backward()
        optimizer.step()
        sync(device)
        times.append(time.perf_counter() - t)
    vision = sum(1 for name, p in model.named_parameters()
                 if ".visual.blocks." in name and p.grad is not None and bool(p.grad.any()))
    return sum(times) / len(times), vision


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options(ap)
    ap.add_argument("--repeats", type=int, default=3, help="timed steps per size and route")
    args = ap.parse_args()
    import torch
    from peft import LoraConfig, get_peft_model

    s = prepare(args)
    device, dtype, cfg, tok, proc, ids_all, base = s.device, s.dtype, s.cfg, s.tok, s.proc, s.ids_all, s.model
    # non-reentrant checkpointing: the vision blocks' inputs need no grad for their adapters to get one
    base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = get_peft_model(base, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear")).train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    print(f"model: Qwen2.5-VL {'tiny' if args.tiny else '7B'} architecture, random weights, {dtype}, {device}, "
          f"LoRA r=16 on every linear layer, gradient checkpointing; pages: {args.config}; vision attention: "
          f"{args.vision_attention}")
    answer = ids_all[:64]
    labels = torch.tensor([[-100] + answer], device=device)  # the last 65 tokens: each is predicted from the one before
    for i, n in enumerate(s.contexts):
        ids = s.ids(n)
        text_inputs = {"input_ids": torch.tensor([ids + answer], device=device), "labels": labels}
        pages, vis, vis_inputs = page_inputs(tok._enc.decode(ids), s.theta, cfg, proc, device, dtype)
        vis_inputs["input_ids"] = torch.tensor([vis + answer], device=device)
        vis_inputs["labels"] = labels
        if i == 0:  # warm-up: kernels chosen and memory pools grown once, outside the timings
            step(model, optimizer, vis_inputs, device, 1)
            step(model, optimizer, text_inputs, device, 1)
        ts, _ = step(model, optimizer, text_inputs, device, args.repeats)
        vs, trained = step(model, optimizer, vis_inputs, device, args.repeats)
        print(f"{n:>7,} text tokens: text step {ts:.3f} s | {len(pages)} pages, {len(vis):,} tokens: step {vs:.3f} s | "
              f"speedup {ts / vs:.2f}x | vision-block tensors with a gradient: {trained}")
        del text_inputs, vis_inputs
        if device.type == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
