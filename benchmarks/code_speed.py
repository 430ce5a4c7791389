"""Code at text speed: a real codebase rendered as highlighted code against the same files as plain text.

    python benchmarks/code_speed.py [--package rich] [--repeat 3] [--config code] [--numpy]

The files are the Python sources of an installed package (rich by default: about a hundred real
modules). Each file is rendered on its own, warm (fonts and glyph atlas ready), in memory:

* code, drawing: layout and drawing of the highlighted documents (their flows made beforehand);
* plain: layout and drawing of the same files' text, unstyled;
* highlighting: Pygments' tokens and the flattening into a styled flow, which the code route adds.

Prints the best of ``--repeat`` rounds for each (the three take turns in each round), whether the
raster's native pixel loops are built, and the ratios code/plain without and with highlighting.
Target: drawing code pages at most 2x the time of plain pages.
"""

from __future__ import annotations

import argparse
import time
from importlib import util
from pathlib import Path

from glyphpress import document, load_config
from glyphpress.document.flatten import to_flow
from glyphpress.pipeline import renderer_for
from glyphpress.raster import draw
from glyphpress.tokens.vision import vision_model


def sources(package: str) -> list[tuple[str, str]]:
    spec = util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {package!r} is not installed")
    root = Path(list(spec.submodule_search_locations)[0])
    return [(str(f.relative_to(root)), f.read_text(encoding="utf-8")) for f in sorted(root.rglob("*.py"))]


def best(fns, repeat: int) -> list[float]:
    """The best time of each function over ``repeat`` rounds, the functions taking turns in each round (so
    that a slow spell of the machine falls on all of them alike)."""
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, ts in zip(fns, times):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
    return [min(ts) for ts in times]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--package", default="rich")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--config", default="code")
    ap.add_argument("--numpy", action="store_true",
                    help="draw without the native pixel loops, as where they are not built")
    args = ap.parse_args()
    if args.numpy:
        draw.native = None
    files = sources(args.package)
    cfg = load_config(args.config)
    r, vm = renderer_for(cfg), vision_model(None)

    def highlight():
        return [to_flow(document.load_document(text, name, "code"), cfg) for name, text in files]

    flows = highlight()
    texts = [text for _, text in files]

    def draw_code():
        return sum(1 for f in flows for _ in r.pages(f, vm))

    def draw_plain():
        return sum(1 for t in texts for _ in r.pages(t, vm))

    pages_code, pages_plain = draw_code(), draw_plain()  # warm: fonts, atlas
    t_code, t_plain, t_hl = best([draw_code, draw_plain, highlight], args.repeat)
    chars = sum(len(t) for t in texts)
    print(f"{args.package}: {len(files)} files, {chars:,} characters, θ {args.config}, native pixel loops "
          f"{'built' if draw.native is not None else 'missing (NumPy draws)'}")
    print(f"code pages   {pages_code:5d}  layout+drawing {t_code:6.3f} s")
    print(f"plain pages  {pages_plain:5d}  layout+drawing {t_plain:6.3f} s")
    print(f"highlighting (Pygments + flattening)  {t_hl:6.3f} s")
    print(f"code/plain, drawing: {t_code / t_plain:.2f}x   with highlighting: {(t_code + t_hl) / t_plain:.2f}x")


if __name__ == "__main__":
    main()
