"""Launch configurations for training on several GPUs: an accelerate config (multi-GPU data parallel, or
DeepSpeed ZeRO-2/ZeRO-3 with its JSON beside it), so ``accelerate launch --config_file accelerate.yaml -m
glyphpress train sft ...`` runs the same recipe on N GPUs of one or more machines."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import GlyphpressError


def deepspeed_config(stage: int) -> dict:
    out = {"train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": "auto",
           "gradient_clipping": "auto", "bf16": {"enabled": "auto"}, "fp16": {"enabled": "auto"},
           "zero_optimization": {"stage": stage, "overlap_comm": True, "contiguous_gradients": True,
                                 "reduce_bucket_size": "auto"}}
    if stage == 3:
        out["zero_optimization"].update({"stage3_gather_16bit_weights_on_model_save": True,
                                         "stage3_prefetch_bucket_size": "auto",
                                         "stage3_param_persistence_threshold": "auto"})
    return out


def write_launch(out: str | Path, gpus: int, machines: int = 1, deepspeed: str | None = None,
                 mixed_precision: str = "bf16", main_ip: str | None = None) -> list[Path]:
    """``accelerate.yaml`` (one machine) or ``accelerate-machine-K.yaml`` for each machine K (several, with the
    first machine's address), and ``deepspeed.json`` with ``deepspeed`` zero2 or zero3, in ``out``."""
    if gpus < 1 or machines < 1:
        raise GlyphpressError("--gpus and --machines must be at least 1")
    if machines > 1 and not main_ip:
        raise GlyphpressError("several machines need --main-ip: the address of the first one")
    if deepspeed not in (None, "zero2", "zero3"):
        raise GlyphpressError(f"--deepspeed is zero2 or zero3, not {deepspeed!r}")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["compute_environment: LOCAL_MACHINE", f"num_machines: {machines}", f"num_processes: {gpus * machines}",
             "main_training_function: main", f"mixed_precision: {mixed_precision}",
             "rdzv_backend: static", "same_network: true", "use_cpu: false"]
    written = []
    if deepspeed:
        ds = folder / "deepspeed.json"
        ds.write_text(json.dumps(deepspeed_config(2 if deepspeed == "zero2" else 3), indent=2) + "\n")
        written.append(ds)
        lines += ["distributed_type: DEEPSPEED", "deepspeed_config:", f"  deepspeed_config_file: {ds.resolve()}",
                  "  zero3_init_flag: " + ("true" if deepspeed == "zero3" else "false")]
    else:
        lines.append("distributed_type: " + ("MULTI_GPU" if gpus * machines > 1 else "NO"))
    if machines == 1:
        path = folder / "accelerate.yaml"
        path.write_text("\n".join(lines + ["machine_rank: 0"]) + "\n")
        return [path] + written
    paths = []
    for rank in range(machines):
        path = folder / f"accelerate-machine-{rank}.yaml"
        path.write_text("\n".join(lines + [f"machine_rank: {rank}", f"main_process_ip: {main_ip}",
                                           "main_process_port: 29500"]) + "\n")
        paths.append(path)
    return paths + written
