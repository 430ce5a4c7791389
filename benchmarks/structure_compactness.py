"""What structure costs: ρ of real Markdown documents rendered structured and as plain text.

    python benchmarks/structure_compactness.py [--config glyph-en] [--model qwen2.5-vl]

The documents are the Markdown READMEs that installed packages carry in their metadata (rich,
typer, markdown-it-py, ...). Target: structured ρ at most 15% below plain ρ. Also printed: the
text with the markup removed, rendered plain (what headings, spacing and grids cost on their own),
with ρ counted against the tokens of the Markdown source in every case.
"""

from __future__ import annotations

import argparse
import sys
from email import message_from_string
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from glyphpress import count, load_config  # noqa: E402
from glyphpress.document import parse_markdown  # noqa: E402
from glyphpress.document.flatten import to_flow  # noqa: E402
from glyphpress.tokens.text import count_tokens, text_tokenizer  # noqa: E402

PACKAGES = ("rich", "typer", "markdown-it-py", "mdit-py-plugins", "hypothesis", "fonttools", "tiktoken")


def readmes() -> list[tuple[str, str]]:
    out = []
    for name in PACKAGES:
        try:
            meta = metadata.metadata(name)
        except metadata.PackageNotFoundError:
            continue
        if "markdown" not in (meta.get("Description-Content-Type") or ""):
            continue
        body = meta.get_payload() or message_from_string(str(meta)).get_payload()
        if body and len(body) > 2000:
            out.append((name, body))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="glyph-en")
    ap.add_argument("--model", default="qwen2.5-vl")
    args = ap.parse_args()
    cfg = load_config(args.config)
    total_plain = total_struct = 0.0
    docs = readmes()
    if not docs:
        sys.exit("no installed package with a Markdown README found")
    for name, text in docs:
        plain = count(text, cfg, model=args.model)
        doc = parse_markdown(text, name)
        struct = count(doc, cfg, model=args.model)
        stripped = count(to_flow(doc, cfg).text, cfg, model=args.model)
        stripped_ratio = count_tokens(text_tokenizer(), text) / stripped.vision_tokens
        cost = 1 - struct.ratio / plain.ratio
        total_plain += plain.vision_tokens
        total_struct += struct.vision_tokens
        print(f"{name:16s} {len(text):>7,} chars  text tokens {plain.text_tokens:>6,}  "
              f"plain ρ {plain.ratio:.2f} ({len(plain.pages)} pages)  structured ρ {struct.ratio:.2f} "
              f"({len(struct.pages)} pages)  structure costs {100 * cost:+.1f}% of ρ; "
              f"markup removed, plain: ρ {stripped_ratio:.2f}")
    print(f"all documents: structure costs {100 * (1 - total_plain / total_struct):+.1f}% of ρ "
          f"(target: at most 15%)")


if __name__ == "__main__":
    main()
