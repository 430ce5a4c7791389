"""``glyphpress train``: the SFT and GRPO recipes from the command line, and multi-GPU launch configs."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import GlyphpressError

train_app = typer.Typer(help="Train a VLM to read rendered pages: SFT and GRPO on TRL.", no_args_is_help=True)


def _recipe(cls, config: Path | None, values: dict):
    from .build import read_fields

    data = read_fields(config, cls, "recipe") if config is not None else {}
    data |= {k: v for k, v in values.items() if v is not None}
    missing = [k for k in ("model", "data", "output_dir") if not data.get(k)]
    if missing:
        raise GlyphpressError(f"give {', '.join('--' + m.replace('_', '-') for m in missing)} (or a --config)")
    if "rewards" in data and isinstance(data["rewards"], str):
        data["rewards"] = tuple(r.strip() for r in data["rewards"].split(",") if r.strip())
    return cls(**data)


def _options(model, data, out, lr, steps, epochs, batch, accumulation, full, bf16, save_steps, attn):
    return {"model": model, "data": data, "output_dir": out, "learning_rate": lr, "max_steps": steps,
            "num_train_epochs": epochs, "per_device_train_batch_size": batch,
            "gradient_accumulation_steps": accumulation, "lora": False if full else None,
            "bf16": True if bf16 else None, "save_steps": save_steps, "attn_implementation": attn}


MODEL = typer.Option(None, "--model", "-m", help="A hub id or a folder (Qwen2-VL / Qwen2.5-VL are tested).")
DATA = typer.Option(None, "--data", help="A folder of glyphpress data build (or a .parquet file).")
OUT = typer.Option(None, "--out", "-o", help="Checkpoints and the trained model; a run there resumes.")
CONFIG = typer.Option(None, "--config", "-c", help="A JSON/YAML recipe (the options here override it).")
LR = typer.Option(None, "--lr")
STEPS = typer.Option(None, "--max-steps")
EPOCHS = typer.Option(None, "--epochs")
BATCH = typer.Option(None, "--batch")
ACCUMULATION = typer.Option(None, "--grad-accum")
FULL = typer.Option(False, "--full", help="Full fine-tuning instead of LoRA.")
BF16 = typer.Option(False, "--bf16")
SAVE_STEPS = typer.Option(None, "--save-steps")
ATTN = typer.Option(None, "--attn", help="The attention kernel: sdpa (transformers' default; one call per "
                    "vision window), eager, or flash_attention_2 (needs flash-attn; one call per layer for all the "
                    "windows).")


@train_app.command("sft")
def sft_cmd(model: str = MODEL, data: str = DATA, out: str = OUT, config: Path | None = CONFIG,
            lr: float | None = LR, steps: int | None = STEPS, epochs: float | None = EPOCHS, batch: int | None = BATCH,
            accumulation: int | None = ACCUMULATION, full: bool = FULL, bf16: bool = BF16,
            save_steps: int | None = SAVE_STEPS, attn: str | None = ATTN):
    """Supervised fine-tuning on pages (TRL's SFTTrainer; LoRA by default; the loss on answers only)."""
    from .recipes import SFTRecipe, train_sft

    recipe = _recipe(SFTRecipe, config, _options(model, data, out, lr, steps, epochs, batch, accumulation, full,
                                                 bf16, save_steps, attn))
    trainer = train_sft(recipe)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    mean = next((h["train_loss"] for h in reversed(trainer.state.log_history) if "train_loss" in h), None)
    print(f"{recipe.output_dir}: {trainer.state.global_step} steps"
          + (f", loss {losses[0]:.3f} → {losses[-1]:.3f}" if len(losses) > 1 else "")
          + (f", mean training loss {mean:.3f}" if mean is not None else ""))


@train_app.command("grpo")
def grpo_cmd(model: str = MODEL, data: str = DATA, out: str = OUT, config: Path | None = CONFIG,
             lr: float | None = LR, steps: int | None = STEPS, epochs: float | None = EPOCHS,
             batch: int | None = BATCH, accumulation: int | None = ACCUMULATION, full: bool = FULL, bf16: bool = BF16,
             save_steps: int | None = SAVE_STEPS, attn: str | None = ATTN,
             generations: int | None = typer.Option(None, "--generations", help="Completions per prompt (16)."),
             rewards: str | None = typer.Option(None, "--rewards", help="accuracy,format,ocr (default: "
                                                "accuracy,format)."),
             max_completion: int | None = typer.Option(None, "--max-completion-length")):
    """GRPO on pages with verifiable rewards (TRL's GRPOTrainer; the paper's 16 generations, ε 0.2, ε_high 0.28)."""
    from .recipes import GRPORecipe, train_grpo

    values = _options(model, data, out, lr, steps, epochs, batch, accumulation, full, bf16, save_steps, attn)
    values |= {"num_generations": generations, "rewards": rewards, "max_completion_length": max_completion}
    recipe = _recipe(GRPORecipe, config, values)
    trainer = train_grpo(recipe)
    rewards_seen = [h["reward"] for h in trainer.state.log_history if "reward" in h]
    print(f"{recipe.output_dir}: {trainer.state.global_step} steps"
          + (f", mean reward {sum(rewards_seen) / len(rewards_seen):.3f}" if rewards_seen else ""))


@train_app.command("launch-config")
def launch_cmd(out: Path = typer.Option(..., "--out", "-o"), gpus: int = typer.Option(8, "--gpus"),
               machines: int = typer.Option(1, "--machines"),
               deepspeed: str | None = typer.Option(None, "--deepspeed", help="zero2 or zero3."),
               main_ip: str | None = typer.Option(None, "--main-ip", help="With several machines: the first one's "
                                                  "address (one config file per machine is written).")):
    """Write accelerate (and DeepSpeed) configs for several GPUs: accelerate launch --config_file ... -m
    glyphpress train sft ..."""
    from .launch import write_launch

    for path in write_launch(out, gpus, machines, deepspeed, main_ip=main_ip):
        print(path)
