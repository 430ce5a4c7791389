"""Writing records as shards, two layouts of the same records:

- ``parquet/NAME.parquet``: TRL's conversational vision layout, readable by ``datasets`` (features stored
  with the file): ``images`` (a list of images), ``messages`` (the prompt, then the answer; SFT and
  pre-training) or ``prompt`` (RL: the answer is for the reward functions), ``answer``, ``references``,
  ``metric`` and ``extra`` (what the reward functions score with: the metric's keywords as JSON), ``id``,
  ``task``, ``theta`` and ``meta`` (JSON);
- ``jsonl/NAME.jsonl`` with ``jsonl/images/``: ms-swift's and LLaMA-Factory's layout, ``messages`` with one
  ``<image>`` per page in the user's text and ``images`` as paths relative to the JSON lines file's folder.

A shard is written whole or not at all: its images first, then each file under a temporary name renamed
into place, the Parquet file last; a shard whose Parquet file exists is finished and never written again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .tasks import Record


def features(rl: bool):
    from datasets import Features, Image, List, Value

    turn = List({"role": Value("string"), "content": List({"type": Value("string"), "text": Value("string")})})
    cols = {"id": Value("string"), "task": Value("string"), "images": List(Image()),
            ("prompt" if rl else "messages"): turn, "answer": Value("string"), "references": List(Value("string")),
            "metric": Value("string"), "extra": Value("string"), "theta": Value("string"), "meta": Value("string")}
    return Features(cols)


def done(out: Path, name: str) -> bool:
    return (out / "parquet" / f"{name}.parquet").is_file()


def write(out: Path, name: str, records: list[Record], rl: bool) -> None:
    """Shard ``name`` of ``records`` in both layouts (see the module's docstring)."""
    import datasets
    from datasets import Dataset

    datasets.disable_progress_bars()
    (out / "parquet").mkdir(parents=True, exist_ok=True)
    images_dir = out / "jsonl" / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for r in records:
        paths = []
        for k, png in enumerate(r.images):
            rel = f"images/{r.id}-{k}.png"
            (out / "jsonl" / rel).write_bytes(png)
            paths.append(rel)
        text = "".join("<image>" if part["type"] == "image" else part["text"] for part in r.prompt[0]["content"])
        line = {"id": r.id, "task": r.task, "messages": [{"role": "user", "content": text}], "images": paths}
        if rl:
            line.update({"solution": r.answer, "references": r.meta.get("references", [r.answer]),
                         "metric": r.meta.get("metric", r.task), "extra": r.meta.get("extra", {})})
        else:
            line["messages"].append({"role": "assistant", "content": r.answer})
        lines.append(json.dumps(line, ensure_ascii=False))
    _replace(out / "jsonl" / f"{name}.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))
    columns = {"id": [r.id for r in records], "task": [r.task for r in records],
               "images": [[{"bytes": png, "path": None} for png in r.images] for r in records],
               ("prompt" if rl else "messages"): [r.prompt if rl else r.messages() for r in records],
               "answer": [r.answer for r in records],
               "references": [list(r.meta.get("references", [r.answer])) for r in records],
               "metric": [r.meta.get("metric", r.task) for r in records],
               "extra": [json.dumps(r.meta.get("extra", {}), ensure_ascii=False) for r in records],
               "theta": [json.dumps(r.theta, sort_keys=True) for r in records],
               "meta": [json.dumps(r.meta, ensure_ascii=False, sort_keys=True) for r in records]}
    tmp = out / "parquet" / f".{name}.parquet.tmp"
    Dataset.from_dict(columns, features=features(rl)).to_parquet(str(tmp))
    os.replace(tmp, out / "parquet" / f"{name}.parquet")


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
