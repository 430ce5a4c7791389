"""Legibility of glyph-en pages: OCR the first pages of the essays and report the character error rate.

    python benchmarks/legibility.py [--pages 4] [--config glyph-en] [--set key=value ...]

Pages are rendered with real line breaks, upscaled 2x (Lanczos) and read by RapidOCR with its
shipped PP-OCR models; CER is computed against each page's own source text (whitespace
normalised). Target: at most 3.5% (the published renderer's pages score 3.4% this way).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import essays  # noqa: E402

from glyphpress import load_config, render  # noqa: E402
from glyphpress.evaluate.legibility import page_scores  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=4)
    ap.add_argument("--config", default="glyph-en")
    ap.add_argument("--set", action="append", default=["newline-markup=<br/>"], dest="sets")
    args = ap.parse_args()
    cfg = load_config(args.config, args.sets)
    text = essays()
    head = text[: 20000 * args.pages]  # enough text for the first pages; pagination is greedy
    r = render(head, cfg, count_text=False)
    t = time.perf_counter()
    scores = page_scores(head, r, pages=args.pages)
    errors = chars = 0.0
    for s in scores:
        print(f"page {s.page}: {s.characters:,} characters, CER {100 * s.cer:.2f}%")
        errors += s.cer * s.characters
        chars += s.characters
    print(f"overall CER over {len(scores)} pages: {100 * errors / chars:.2f}%  "
          f"(config {args.config}, dpi {cfg.dpi}, font {cfg.font_path or cfg.font_family}; "
          f"OCR {time.perf_counter() - t:.0f} s)")


if __name__ == "__main__":
    main()
