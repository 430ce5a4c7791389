"""Training recipes on TRL: one config object per trainer, filled with the Glyph paper's choices, and the
function that runs it.

- ``SFTRecipe`` / ``train_sft``: TRL's ``SFTTrainer`` on a data folder of ``glyphpress data build`` (its
  ``messages`` and ``images``), LoRA (peft) or full fine-tuning, the loss on the answers only (prompt, page
  and padding tokens masked), ``max_length=None`` so no image token is ever cut, gradient checkpointing
  (non-reentrant, so the vision tower's adapters train too) and bf16 where asked, checkpoints every
  ``save_steps`` and resuming from the last one.
- ``GRPORecipe``: the paper's GRPO settings (16 generations per prompt, clip ε 0.2 and ε_high 0.28) with the
  reward functions of ``rewards.py``, for ``glyphpress train grpo``.

Pages reach the model through its own processor; where that cannot be built (Qwen-VL's processor needs
torchvision for its video half) through its image processor and tokenizer, expanding each image placeholder
to the image's tokens exactly as the processor would (``vlm.local.load_processor``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import GlyphpressError


@dataclass
class SFTRecipe:
    model: str  # a hub id or a folder
    data: str  # a data folder (its parquet/ shards) or a Parquet file
    output_dir: str
    lora: bool = True
    lora_r: int = 16
    lora_alpha: int = 32
    learning_rate: float = 1e-5
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.03
    num_train_epochs: float = 1.0
    max_steps: int = -1
    per_device_train_batch_size: int = 1
    gradient_accumulation_steps: int = 8
    gradient_checkpointing: bool = True
    bf16: bool = False
    save_steps: int = 500
    logging_steps: int = 10
    seed: int = 0
    resume: bool = True  # from the output folder's last checkpoint, where there is one
    attn_implementation: str | None = None  # sdpa (transformers' default), eager, flash_attention_2, ...
    extra: dict[str, Any] = field(default_factory=dict)  # any other SFTConfig field, or one set here to change


@dataclass
class GRPORecipe(SFTRecipe):
    learning_rate: float = 1e-6
    gradient_accumulation_steps: int = 16  # a generation batch (batch x processes x steps) of 16: one prompt
    num_generations: int = 16
    epsilon: float = 0.2
    epsilon_high: float = 0.28
    max_completion_length: int = 1024
    rewards: tuple[str, ...] = ("accuracy", "format")


def _dataset(data: str):
    from datasets import load_dataset

    path = Path(data)
    files = [str(path)] if path.is_file() else sorted(str(p) for p in (path / "parquet").glob("*.parquet"))
    if not files:
        raise GlyphpressError(f"{data}: no Parquet shards (a folder of glyphpress data build, or a .parquet file)")
    return load_dataset("parquet", data_files=files, split="train")


def _last_checkpoint(folder: str) -> str | None:
    found = sorted(Path(folder).glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1])
                   if p.name.split("-")[-1].isdigit() else -1)
    return str(found[-1]) if found else None


class Collator:
    """Records to a batch: the conversation through the chat template, the pages through the processor, labels
    only on the answer (the prompt's tokens, pages included, and padding are -100)."""

    def __init__(self, processor):
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", processor)

    def __call__(self, examples: list[dict]):
        import torch

        texts, prompts, images = [], [], []
        for ex in examples:
            messages = _plain(ex["messages"])
            texts.append(self.processor.apply_chat_template(messages, add_generation_prompt=False, tokenize=False))
            prompts.append(self.processor.apply_chat_template(messages[:-1], add_generation_prompt=True,
                                                              tokenize=False))
            images += [im.convert("RGB") for im in ex["images"]]
        batch = self.processor(text=texts, images=images or None, return_tensors="pt", padding=True)
        prompt_ids = self.processor(text=prompts, images=images or None, return_tensors="pt", padding=True)
        labels = batch["input_ids"].clone()
        pad = self.tokenizer.pad_token_id
        for i in range(len(examples)):
            n = int((prompt_ids["input_ids"][i] != pad).sum()) if pad is not None else prompt_ids["input_ids"].shape[1]
            start = int((batch["input_ids"][i] == pad).long().argmin()) if _left(self.tokenizer) else 0
            labels[i, : start + n] = -100
        if pad is not None:
            labels[batch["input_ids"] == pad] = -100
        batch["labels"] = labels
        return {k: v for k, v in batch.items() if isinstance(v, torch.Tensor)}


def _left(tokenizer) -> bool:
    return getattr(tokenizer, "padding_side", "right") == "left"


def _plain(messages: list[dict]) -> list[dict]:
    """Messages as stored (``text`` None on image parts) in the form chat templates expect."""
    out = []
    for m in messages:
        content = [{"type": "image"} if p["type"] == "image" else {"type": "text", "text": p["text"] or ""}
                   for p in m["content"]]
        out.append({"role": m["role"], "content": content})
    return out


def train_sft(recipe: SFTRecipe):
    """Run TRL's SFTTrainer as ``recipe`` says; the trainer (its ``state.log_history`` holds the losses)."""
    try:
        from trl import SFTConfig, SFTTrainer
    except ImportError:
        raise GlyphpressError("training needs TRL: pip install 'glyphpress[ml,train]'") from None

    data = _dataset(recipe.data)
    if "messages" not in data.column_names:
        raise GlyphpressError(f"{recipe.data}: no messages column (RL data is for train grpo)")
    model, processor, peft_config = _model(recipe)
    args = SFTConfig(**{"max_length": None, "remove_unused_columns": False, "report_to": [],
                        "dataset_kwargs": {"skip_prepare_dataset": True}, **_trainer_fields(recipe)})
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, data_collator=Collator(processor),
                         processing_class=processor, peft_config=peft_config)
    return _train(trainer, recipe)


def _model(recipe: SFTRecipe):
    """The model, its processor, and the LoRA config (None for full fine-tuning)."""
    from ..vlm.local import load_model, load_processor

    model = load_model(recipe.model, attn=recipe.attn_implementation)
    processor = load_processor(recipe.model)
    if not recipe.lora:
        return model, processor, None
    try:
        from peft import LoraConfig
    except ImportError:
        raise GlyphpressError("LoRA needs peft: pip install peft (or train with --full)") from None
    return model, processor, LoraConfig(r=recipe.lora_r, lora_alpha=recipe.lora_alpha, target_modules="all-linear",
                                        task_type="CAUSAL_LM")


def _trainer_fields(recipe: SFTRecipe) -> dict[str, Any]:
    """The recipe's fields that are TRL config fields too, then its ``extra`` fields. Gradient checkpointing
    is non-reentrant unless ``extra`` says otherwise: reentrant checkpoints pass no gradient to a block whose
    inputs need none, so the vision blocks, fed pixels, would leave their LoRA adapters untrained."""
    own = ("model", "data", "lora", "lora_r", "lora_alpha", "resume", "extra", "rewards", "attn_implementation")
    fields = {k: v for k, v in asdict(recipe).items() if k not in own}
    fields["gradient_checkpointing_kwargs"] = {"use_reentrant": False}
    return {**fields, **recipe.extra}


def _train(trainer, recipe: SFTRecipe):
    """Train (from the output folder's last checkpoint, where resuming and there is one), save, return."""
    trainer.train(resume_from_checkpoint=_last_checkpoint(recipe.output_dir) if recipe.resume else None)
    trainer.save_model(recipe.output_dir)
    return trainer


def train_grpo(recipe: GRPORecipe):
    """Run TRL's GRPOTrainer on RL data (``prompt``, ``images``, ``references``, ``metric``, ``answer``) with
    ``recipe.rewards``; the trainer."""
    try:
        from trl import GRPOConfig, GRPOTrainer
    except ImportError:
        raise GlyphpressError("training needs TRL: pip install 'glyphpress[ml,train]'") from None
    import os

    from .rewards import REWARDS

    world = int(os.environ.get("WORLD_SIZE", "1"))
    batch = recipe.per_device_train_batch_size * world * recipe.gradient_accumulation_steps
    if recipe.num_generations < 2 or batch % recipe.num_generations:
        raise GlyphpressError(f"GRPO groups {recipe.num_generations} completions per prompt: the generation batch "
                              f"(batch {recipe.per_device_train_batch_size} x {world} processes x accumulation "
                              f"{recipe.gradient_accumulation_steps} = {batch}) must be a multiple of it, and it "
                              "at least 2")
    data = _dataset(recipe.data)
    if "prompt" not in data.column_names:
        raise GlyphpressError(f"{recipe.data}: no prompt column (build it with --kind rl)")
    unknown = [r for r in recipe.rewards if r not in REWARDS]
    if unknown:
        raise GlyphpressError(f"unknown reward(s) {', '.join(unknown)}; rewards: {', '.join(REWARDS)}")
    data = data.map(lambda ex: {"prompt": _plain(ex["prompt"])})
    model, processor, peft_config = _model(recipe)
    args = GRPOConfig(**{"remove_unused_columns": False, "report_to": [], **_trainer_fields(recipe)})
    trainer = GRPOTrainer(model=model, reward_funcs=[REWARDS[r] for r in recipe.rewards], args=args,
                          train_dataset=data, processing_class=processor, peft_config=peft_config)
    return _train(trainer, recipe)
