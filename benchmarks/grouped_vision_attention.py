"""Qwen2.5-VL's vision attention with one attention call per window size instead of one per window.

Qwen2.5-VL's vision tower attends within windows of 8x8 patches (and, in four layers, within each image).
With flash-attention's variable-length kernel that is one call per layer; with SDPA (transformers' default),
transformers runs one scaled-dot-product call per window: a 128K-token document as glyph-en pages is 109
pages, 5,018 windows, so some 141,000 small calls per forward pass, twice that with a checkpointed one
recomputed, and a backward pass besides. Inference
engines (vLLM, SGLang) use the variable-length kernel. Windows of one size are many (every full window is
8x8 patches, and every page of one size has as many patches), so stacking the windows of each size into one
batch gives the same attention as the SDPA path (the same outputs and gradients: tested in float64 on the
CPU), in a handful of calls on any device. ``install()`` puts this
forward on the class for the GPU timing scripts (``--vision-attention grouped``), so they time the vision
tower as an engine runs it rather than the Python loop.
"""

from __future__ import annotations


def grouped_attention(q, k, v, cu_seqlens, scale: float):
    """Attention within each segment ``cu_seqlens[i]:cu_seqlens[i + 1]`` of ``q``, ``k``, ``v`` (each
    ``[tokens, heads, dim]``), no mask inside a segment, nothing across segments; ``[tokens, heads, dim]``."""
    import torch
    import torch.nn.functional as F

    bounds = cu_seqlens.tolist()
    by_length: dict[int, list[int]] = {}
    for start, end in zip(bounds, bounds[1:]):
        if end > start:
            by_length.setdefault(end - start, []).append(start)
    order, parts = [], []
    for length, starts in by_length.items():
        idx = (torch.tensor(starts, device=q.device)[:, None] + torch.arange(length, device=q.device)).reshape(-1)
        batch = [t[idx].reshape(len(starts), length, *t.shape[1:]).transpose(1, 2) for t in (q, k, v)]
        out = F.scaled_dot_product_attention(*batch, scale=scale)  # [windows, heads, length, dim]
        parts.append(out.transpose(1, 2).reshape(-1, *q.shape[1:]))
        order.append(idx)
    order = torch.cat(order)
    return torch.cat(parts)[torch.argsort(order)]


def install() -> None:
    """Qwen2.5-VL's vision attention, from now on in this process, batched by window size where the model
    runs SDPA attention (transformers' default); models on eager or flash-attention keep their own."""
    from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl as m

    stock = m.Qwen2_5_VLVisionAttention.forward

    def forward(self, hidden_states, cu_seqlens, rotary_pos_emb=None, position_embeddings=None, **kwargs):
        if self.config._attn_implementation != "sdpa":
            return stock(self, hidden_states, cu_seqlens, rotary_pos_emb, position_embeddings, **kwargs)
        n = hidden_states.shape[0]
        q, k, v = self.qkv(hidden_states).reshape(n, 3, self.num_heads, -1).permute(1, 0, 2, 3).unbind(0)
        cos, sin = position_embeddings
        q, k = m.apply_rotary_pos_emb_vision(q, k, cos, sin)
        return self.proj(grouped_attention(q, k, v, cu_seqlens, self.scaling).reshape(n, -1))

    m.Qwen2_5_VLVisionAttention.forward = forward
