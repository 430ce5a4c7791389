"""A tiny, randomly initialised Qwen2-VL (or Qwen2.5-VL) of the real architecture, with a tokenizer built offline,
saved to a folder so it loads through the same from_pretrained code as a hub model."""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for c in message['content'] %}"
    "{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>{% elif c['type'] == 'text' %}"
    "{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
            "<|video_pad|>"]


def build(folder: Path, arch: str = "qwen2-vl") -> Path:
    """``arch``: qwen2-vl or qwen2.5-vl (the same tokenizer and image processor, each model's own layers)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2TokenizerFast,
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessor,
    )

    tk = Tokenizer(models.BPE(unk_token=None))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    corpus = ["What is the secret number in the report? The answer is forty two.", "user assistant system"] * 20
    tk.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIALS,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = Qwen2TokenizerFast(tokenizer_object=tk, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                             unk_token=None, bos_token=None)
    tok.chat_template = CHAT_TEMPLATE
    images = Qwen2VLImageProcessor(min_pixels=56 * 56, max_pixels=28 * 28 * 16384)
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIALS}
    common = dict(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, max_position_embeddings=32768,
        rope_scaling={"type": "mrope", "mrope_section": [4, 2, 2]},
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
    )
    patches = {"patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "in_chans": 3}
    if arch == "qwen2.5-vl":
        config = Qwen2_5_VLConfig(**common, vision_config={
            "depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 32,
            "fullatt_block_indexes": [1], "window_size": 112, **patches})
        model = Qwen2_5_VLForConditionalGeneration(config)
    else:
        config = Qwen2VLConfig(**common, vision_config={"depth": 1, "embed_dim": 32, "hidden_size": 32,
                                                        "num_heads": 2, "mlp_ratio": 2, **patches})
        model = Qwen2VLForConditionalGeneration(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    images.save_pretrained(folder)  # the full Qwen2VLProcessor would also need a video processor (torchvision)
    tok.save_pretrained(folder)
    return folder
