"""The dataset card of a build (``README.md`` beside the shards): what is in it (records and pages per task),
the θ the pages were drawn with (dpi, page sizes, fonts, sizes, themes, newline modes), the tokens (text and
vision tokens per record, ρ), how to load it, and sample pages (``card/``)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from statistics import fmean, median


def write_card(out: Path, spec) -> Path:
    import pyarrow.parquet as pq

    tasks: Counter = Counter()
    pages: Counter = Counter()
    theta: dict[str, Counter] = {k: Counter() for k in ("dpi", "page-size", "font-family", "font-size", "theme",
                                                         "newline")}
    text_tokens, vision_tokens = [], []
    samples: dict[str, tuple[str, bytes]] = {}
    files = sorted((out / "parquet").glob("*.parquet"))
    for f in files:
        table = pq.read_table(f, columns=["id", "task", "theta", "meta", "images"])
        for rid, task, th, meta, images in zip(*(table.column(c).to_pylist() for c in
                                                 ("id", "task", "theta", "meta", "images"))):
            th, meta = json.loads(th), json.loads(meta)
            tasks[task] += 1
            pages[task] += meta.get("pages", len(images))
            theta["dpi"][th["dpi"]] += 1
            theta["page-size"][th["page-size"]] += 1
            theta["font-family"][th.get("font-family") or th.get("font-path")] += 1
            theta["font-size"][th["font-size"]] += 1
            theta["theme"][th["page-bg-color"]] += 1
            theta["newline"]["marker" if "font" in (th.get("newline-markup") or "") else "break"] += 1
            if meta.get("text_tokens"):
                text_tokens.append(meta["text_tokens"])
                vision_tokens.append(meta["vision_tokens"])
            if task not in samples and images:
                samples[task] = (rid, images[0]["bytes"])
    (out / "card").mkdir(exist_ok=True)
    lines = [f"# glyphpress {spec.kind} data", "",
             f"{sum(tasks.values()):,} records in {len(files)} shards, {sum(pages.values()):,} pages; seed "
             f"{spec.seed}; vision tokens counted for {spec.model}. Built by `glyphpress data build` "
             "(spec.json holds the whole spec).", "", "## Records", "", "| task | records | pages |", "|---|---:|---:|"]
    lines += [f"| {t} | {n:,} | {pages[t]:,} |" for t, n in sorted(tasks.items())]
    if text_tokens:
        rho = [t / max(1, v) for t, v in zip(text_tokens, vision_tokens)]
        lines += ["", "## Tokens", "", f"- text tokens per record: mean {fmean(text_tokens):,.0f}, median "
                  f"{median(text_tokens):,.0f}, max {max(text_tokens):,}",
                  f"- vision tokens per record: mean {fmean(vision_tokens):,.0f}, median {median(vision_tokens):,.0f}, "
                  f"max {max(vision_tokens):,}",
                  f"- ρ (text tokens per vision token): mean {fmean(rho):.2f}, median {median(rho):.2f}"]
    lines += ["", "## θ", ""]
    for key, counter in theta.items():
        top = ", ".join(f"{k} ({n})" for k, n in counter.most_common(8))
        lines.append(f"- {key}: {len(counter)} distinct; most drawn: {top}")
    lines += ["", "## Loading", "", "```python", "from datasets import load_dataset",
              f"ds = load_dataset(\"parquet\", data_files=\"{out.name}/parquet/*.parquet\", split=\"train\")",
              "```", "", "TRL's conversational vision layout (`images` with `messages`, or `prompt` for RL); "
              "`jsonl/` holds the same records for ms-swift and LLaMA-Factory (`<image>` placeholders, image "
              "paths relative to the file).", "", "## Sample pages", ""]
    for task, (rid, png) in sorted(samples.items()):
        name = f"card/{task}.png"
        (out / name).write_bytes(png)
        lines += [f"![{task}: {rid}]({name})", ""]
    path = out / "README.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
