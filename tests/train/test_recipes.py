"""The training recipes on a tiny random Qwen2-VL (the real architecture, a shrunk config, an offline
tokenizer): SFT steps lower the loss and resume from a checkpoint; GRPO runs steps with the real reward
functions and several page images per prompt; launch configs for several GPUs."""

import functools
import json
import subprocess
import sys

import pytest

from glyphpress.train.build import Spec, build

from .. import needs

needs_train = needs.package("trl", "datasets", "torch", "transformers")
CONTEXT = "The secret number in the report is {n}. " + "Filler words fill the page to the end of the line. " * 60


@pytest.fixture
def qa(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps({"context": CONTEXT.format(n=i), "question": "What is the secret number?",
                                          "answer": str(i)}) for i in range(6)))
    return path


def _tiny_pages_config(tmp_path):
    """Small pages (a few dozen vision tokens each) so a CPU trains in seconds; several pages per context."""
    cfg = tmp_path / "small.json"
    cfg.write_text(json.dumps({"page-size": "240,160", "dpi": 56, "font-size": 9, "line-height": 10,
                               "margin-x": 6, "margin-y": 6}))
    return str(cfg)


@needs_train
@pytest.mark.parametrize("arch", ["qwen2-vl", "qwen2.5-vl"])
def test_sft_lowers_the_loss_and_resumes(tmp_path, qa, arch, request):
    from glyphpress.train.recipes import SFTRecipe, train_sft

    tiny_vlm = request.getfixturevalue("tiny_vlm" if arch == "qwen2-vl" else "tiny_vlm25")
    build(Spec("sft", source=str(qa), samples=6, ocr_rate=0.0, config=_tiny_pages_config(tmp_path)), tmp_path / "d")
    recipe = SFTRecipe(tiny_vlm, str(tmp_path / "d"), str(tmp_path / "out"), lora=False, learning_rate=5e-3,
                       max_steps=12, per_device_train_batch_size=2, gradient_accumulation_steps=1,
                       gradient_checkpointing=False, logging_steps=1, save_steps=6, warmup_ratio=0.0)
    trainer = train_sft(recipe)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 12 and sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3
    assert (tmp_path / "out" / "checkpoint-12").is_dir() and (tmp_path / "out" / "config.json").is_file()
    recipe.max_steps = 14
    again = train_sft(recipe)  # from checkpoint-12: two more steps, not fourteen
    assert again.state.global_step == 14 and len([h for h in again.state.log_history if "loss" in h]) == 14


@needs_train
@needs.package("peft")
def test_sft_from_the_command_line_with_lora(tmp_path, qa, tiny_vlm):
    build(Spec("sft", source=str(qa), samples=4, ocr_rate=0.5, config=_tiny_pages_config(tmp_path)), tmp_path / "d")
    p = subprocess.run([sys.executable, "-m", "glyphpress", "train", "sft", "--model", tiny_vlm, "--data",
                        str(tmp_path / "d"), "-o", str(tmp_path / "lora"), "--max-steps", "2", "--batch", "2",
                        "--grad-accum", "1", "--lr", "1e-3"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "2 steps, mean training loss" in p.stdout and (tmp_path / "lora" / "adapter_config.json").is_file()
    bad = subprocess.run([sys.executable, "-m", "glyphpress", "train", "sft", "--model", tiny_vlm, "--data",
                          str(tmp_path), "-o", str(tmp_path / "x")], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "no Parquet shards" in bad.stderr and bad.stderr.count("\n") == 1


@needs_train
def test_grpo_runs_with_the_rewards_and_several_pages_per_prompt(tmp_path, qa, tiny_vlm, monkeypatch):
    import transformers

    from glyphpress.train.recipes import GRPORecipe, train_grpo

    build(Spec("rl", source=str(qa), samples=4, config=_tiny_pages_config(tmp_path)), tmp_path / "rl")
    pages_seen = []
    forward = transformers.Qwen2VLForConditionalGeneration.forward

    @functools.wraps(forward)  # generate reads the signature
    def counting(self, *args, **kwargs):
        if kwargs.get("image_grid_thw") is not None:
            pages_seen.append(int(kwargs["image_grid_thw"].shape[0]))
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(transformers.Qwen2VLForConditionalGeneration, "forward", counting)
    recipe = GRPORecipe(tiny_vlm, str(tmp_path / "rl"), str(tmp_path / "grpo"), lora=False, learning_rate=1e-3,
                        max_steps=2, per_device_train_batch_size=2, gradient_accumulation_steps=1,
                        gradient_checkpointing=False, logging_steps=1, num_generations=2, max_completion_length=6,
                        warmup_ratio=0.0, rewards=("accuracy", "format", "ocr"))
    trainer = train_grpo(recipe)
    logs = [h for h in trainer.state.log_history if "reward" in h]
    assert trainer.state.global_step == 2 and len(logs) == 2
    assert all(k in logs[0] for k in ("rewards/accuracy_reward/mean", "rewards/format_reward/mean",
                                      "rewards/ocr_reward/mean"))
    assert pages_seen and max(pages_seen) >= 2 * 3  # two prompts of three pages or more each in one forward
    assert recipe.epsilon == 0.2 and recipe.epsilon_high == 0.28 and GRPORecipe("m", "d", "o").num_generations == 16


def test_launch_configs_for_several_gpus(tmp_path):
    p = subprocess.run([sys.executable, "-m", "glyphpress", "train", "launch-config", "-o", str(tmp_path / "l"),
                        "--gpus", "8", "--machines", "2", "--deepspeed", "zero3", "--main-ip", "10.0.0.1"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for rank in (0, 1):
        acc = (tmp_path / "l" / f"accelerate-machine-{rank}.yaml").read_text()
        assert "num_processes: 16" in acc and "distributed_type: DEEPSPEED" in acc and "num_machines: 2" in acc
        assert f"machine_rank: {rank}" in acc and "main_process_ip: 10.0.0.1" in acc
    one = subprocess.run([sys.executable, "-m", "glyphpress", "train", "launch-config", "-o", str(tmp_path / "one"),
                          "--gpus", "4"], capture_output=True, text=True)
    assert one.returncode == 0 and "distributed_type: MULTI_GPU" in (tmp_path / "one" / "accelerate.yaml").read_text()
    p = subprocess.run([sys.executable, "-m", "glyphpress", "train", "launch-config", "-o", str(tmp_path / "n"),
                        "--machines", "2"], capture_output=True, text=True)
    assert p.returncode == 2 and "--main-ip" in p.stderr
    ds = json.loads((tmp_path / "l" / "deepspeed.json").read_text())
    assert ds["zero_optimization"]["stage"] == 3
    p = subprocess.run([sys.executable, "-m", "glyphpress", "train", "launch-config", "-o", str(tmp_path / "m"),
                        "--deepspeed", "zero9"], capture_output=True, text=True)
    assert p.returncode == 2 and "zero2 or zero3" in p.stderr


@needs_train
def test_the_loss_is_on_the_answers_only(tmp_path, qa, tiny_vlm):
    from datasets import load_dataset

    from glyphpress.train.recipes import Collator
    from glyphpress.vlm.local import load_processor

    build(Spec("sft", source=str(qa), samples=2, ocr_rate=0.0, config=_tiny_pages_config(tmp_path)), tmp_path / "d")
    rows = list(load_dataset("parquet", data_files=str(tmp_path / "d" / "parquet" / "*.parquet"), split="train"))
    processor = load_processor(tiny_vlm)
    batch = Collator(processor)(rows)
    pages = sum(len(r["images"]) for r in rows)
    assert batch["pixel_values"].shape[0] > 0 and batch["image_grid_thw"].shape[0] == pages
    image_id = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    for i, r in enumerate(rows):
        kept = batch["labels"][i][batch["labels"][i] != -100].tolist()
        assert image_id not in kept  # no page token is learned
        assert processor.tokenizer.decode(kept).strip() == r["answer"] + "<|im_end|>"


def test_grpo_batches_that_cannot_hold_whole_groups_are_refused(tmp_path):
    from glyphpress.errors import GlyphpressError
    from glyphpress.train.recipes import GRPORecipe, train_grpo

    recipe = GRPORecipe("m", str(tmp_path), str(tmp_path / "o"))
    assert recipe.per_device_train_batch_size * recipe.gradient_accumulation_steps % recipe.num_generations == 0
    recipe.gradient_accumulation_steps = 8  # 8 completions a step, groups of 16
    with pytest.raises(GlyphpressError, match="must be a multiple of it"):
        train_grpo(recipe)


@needs_train
@needs.package("peft")
@pytest.mark.parametrize("reentrant", [None, True])
def test_lora_trains_the_vision_blocks_under_gradient_checkpointing(tmp_path, qa, tiny_vlm25, reentrant):
    """The Glyph recipe trains the vision side too. With reentrant checkpointing the vision blocks' inputs
    (pixels) need no gradient, so their adapters would silently get none: the recipe must not end up there."""
    from glyphpress.train.recipes import SFTRecipe, train_sft

    build(Spec("sft", source=str(qa), samples=2, ocr_rate=0.0, config=_tiny_pages_config(tmp_path)), tmp_path / "d")
    extra = {} if reentrant is None else {"gradient_checkpointing_kwargs": {"use_reentrant": reentrant}}
    recipe = SFTRecipe(tiny_vlm25, str(tmp_path / "d"), str(tmp_path / "out"), learning_rate=1e-2, max_steps=2,
                       per_device_train_batch_size=2, gradient_accumulation_steps=1, gradient_checkpointing=True,
                       logging_steps=1, save_steps=100, warmup_ratio=0.0, extra=extra)
    trainer = train_sft(recipe)
    moved = {n for n, p in trainer.model.named_parameters()
             if "lora_B" in n and ".visual.blocks." in n and bool(p.detach().abs().sum() > 0)}
    if reentrant:  # the failure this guards against, shown to happen
        assert not moved
    else:
        assert moved and all(f".visual.blocks.{i}." in " ".join(moved) for i in range(2))


@needs_train
def test_the_attention_kernel_is_chosen_and_a_bad_one_is_one_line(tmp_path, qa, tiny_vlm25):
    from glyphpress.train.recipes import SFTRecipe, train_sft

    build(Spec("sft", source=str(qa), samples=2, ocr_rate=0.0, config=_tiny_pages_config(tmp_path)), tmp_path / "d")
    recipe = SFTRecipe(tiny_vlm25, str(tmp_path / "d"), str(tmp_path / "out"), lora=False, max_steps=1,
                       per_device_train_batch_size=2, gradient_accumulation_steps=1, gradient_checkpointing=False,
                       save_steps=100, attn_implementation="eager")
    trainer = train_sft(recipe)
    assert trainer.model.config._attn_implementation == "eager"
    assert trainer.model.config.vision_config._attn_implementation == "eager"
    bad = subprocess.run([sys.executable, "-m", "glyphpress", "train", "sft", "--model", tiny_vlm25, "--data",
                          str(tmp_path / "d"), "-o", str(tmp_path / "x"), "--attn", "bogus"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "bogus" in bad.stderr and bad.stderr.count("\n") == 1, bad.stderr[-800:]
