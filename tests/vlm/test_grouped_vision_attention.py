"""benchmarks/grouped_vision_attention.py: Qwen2.5-VL's vision attention batched by window size gives the
stock per-window loop's outputs and gradients, on real pages through a tiny random Qwen2.5-VL."""

import importlib.util
from pathlib import Path

import pytest

from glyphpress import render

from .. import needs

needs_torch = needs.package("torch", "transformers")
SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "grouped_vision_attention.py"


def _module():
    spec = importlib.util.spec_from_file_location("grouped_vision_attention", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@needs_torch
def test_grouped_attention_equals_one_call_per_segment():
    import torch
    import torch.nn.functional as F

    g = _module()
    torch.manual_seed(0)
    cu = torch.tensor([0, 64, 128, 150, 214, 236, 300, 301])  # lengths 64, 64, 22, 64, 22, 64, 1
    q, k, v = (torch.randn(301, 3, 8, dtype=torch.float64) for _ in range(3))
    want = torch.cat([F.scaled_dot_product_attention(*(t[a:b].transpose(0, 1) for t in (q, k, v)), scale=0.3)
                      .transpose(0, 1) for a, b in zip(cu.tolist(), cu.tolist()[1:])])
    got = g.grouped_attention(q, k, v, cu, 0.3)
    assert got.shape == want.shape
    assert torch.allclose(got, want, atol=1e-12)


@needs_torch
def test_the_vision_tower_gives_the_same_outputs_and_gradients(tiny_vlm25):
    import torch
    from transformers import AutoModelForImageTextToText, Qwen2VLImageProcessor
    from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl as m

    net = AutoModelForImageTextToText.from_pretrained(tiny_vlm25, dtype=torch.float64).train()
    pages = render("The grouped windows read the same page. " * 300, "glyph-en", model="qwen2.5-vl",
                   count_text=False).pages
    feats = Qwen2VLImageProcessor(min_pixels=56 * 56, max_pixels=28 * 28 * 16384)(
        images=[p.image for p in pages], return_tensors="pt")
    pixels, grid = feats["pixel_values"].to(torch.float64), feats["image_grid_thw"]
    assert len(pages) >= 2 and int(grid[0, 1] * grid[0, 2]) > 64  # several images, many windows each

    def run():
        net.zero_grad(set_to_none=True)
        out = net.model.visual(pixels, grid_thw=grid)
        out = out.pooler_output if hasattr(out, "pooler_output") else out
        out.pow(2).sum().backward()
        return out.detach(), {n: p.grad.clone() for n, p in net.model.visual.named_parameters() if p.grad is not None}

    assert net.config.vision_config._attn_implementation == "sdpa"
    stock = m.Qwen2_5_VLVisionAttention.forward
    want, want_grads = run()
    g = _module()
    calls = []
    grouped = g.grouped_attention
    g.grouped_attention = lambda *a: calls.append(1) or grouped(*a)
    try:
        g.install()
        got, got_grads = run()
    finally:
        m.Qwen2_5_VLVisionAttention.forward = stock
    assert len(calls) == len(net.model.visual.blocks)  # every block's attention took the grouped path
    assert torch.allclose(got, want, rtol=1e-9, atol=1e-10)
    assert want_grads.keys() == got_grads.keys() and any("attn.qkv" in n for n in want_grads)
    for name, grad in want_grads.items():
        assert torch.allclose(got_grads[name], grad, rtol=1e-8, atol=1e-10), name


@needs_torch
def test_models_on_eager_attention_keep_their_own(tiny_vlm25):
    import torch
    from transformers import AutoModelForImageTextToText
    from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl as m

    net = AutoModelForImageTextToText.from_pretrained(tiny_vlm25, dtype=torch.float64, attn_implementation="eager")
    pages = render("Eager attention stays eager. " * 200, "glyph-en", model="qwen2.5-vl", count_text=False).pages
    from transformers import Qwen2VLImageProcessor

    feats = Qwen2VLImageProcessor(min_pixels=56 * 56, max_pixels=28 * 28 * 16384)(
        images=[p.image for p in pages], return_tensors="pt")
    pixels, grid = feats["pixel_values"].to(torch.float64), feats["image_grid_thw"]
    stock = m.Qwen2_5_VLVisionAttention.forward
    with torch.no_grad():
        want = net.model.visual(pixels, grid_thw=grid)
        g = _module()
        g.grouped_attention = lambda *a: pytest.fail("eager attention took the grouped path")
        try:
            g.install()
            got = net.model.visual(pixels, grid_thw=grid)
        finally:
            m.Qwen2_5_VLVisionAttention.forward = stock
    assert torch.equal(got, want)
