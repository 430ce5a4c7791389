"""The θ search against its target: on a corpus, fitness = RapidOCR's character error rate on pages spread
over the whole document, a search of at most ``--minutes`` on this machine, against the base preset and the
single-knob changes one would try by hand.

    python benchmarks/search_target.py [--corpus essays|code|zh|PATH] [--minutes 30] [--pages 8]
                                       [--population 6] [--seed 0] [--knob "key=value ..."] [-o runs/target-essays]

The space is the corpus's preset space (``en`` over glyph-en for the essays, ``code`` over code, ``zh`` over
glyph-zh) with the newline mode frozen at the base's, so the comparison keeps it. The base θ is evaluated
first and sets the quality floor (its own 1 - CER: the search looks for a denser θ that reads as well); the
single-knob references are evaluated too (never parents). The time limit counts the generations, not the
references. Prints the references, the best θ found (ρ against the base's, CER, the keys it changed),
evaluations per minute, and whether the target holds: ρ at least 1.5x the base's at a CER no worse, and
denser than every single-knob change that reads as well. The run folder holds best.json, the Pareto front
and report.md/report.html (with the comparison and sample pages).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import chinese, code, essays  # noqa: E402

from glyphpress.config import parse_set_value  # noqa: E402
from glyphpress.search.fitness import Legibility  # noqa: E402
from glyphpress.search.report import load, write_report  # noqa: E402
from glyphpress.search.run import Search, Settings  # noqa: E402
from glyphpress.search.space import load_space  # noqa: E402

CORPORA = {"essays": (essays, "en"), "code": (code, "code"), "zh": (chinese, "zh")}
KNOBS = {  # one key changed from the base, as one would try by hand
    "en": ["horizontal-scale=0.75", "horizontal-scale=0.85", "line-height=9", "dpi=66"],
    "code": ["horizontal-scale=0.75", "line-height=9", "dpi=66"],
    "zh": ["horizontal-scale=0.75", "line-height=9", "dpi=66"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="essays", help="essays, code, zh, or a text file")
    ap.add_argument("--space", help="a space preset or file (default: the corpus's)")
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--pages", type=int, default=8)
    ap.add_argument("--population", type=int, default=6)
    ap.add_argument("--generations", type=int, default=100, help="at most (the time limit ends the run)")
    ap.add_argument("--crossover", type=float, default=Settings.crossover, help="share of children with two parents")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="qwen2.5-vl")
    ap.add_argument("--knob", action="append",
                    help="a reference: key=value (a single knob; default: the corpus's), or several, space-separated")
    ap.add_argument("-o", "--out", type=Path)
    args = ap.parse_args()
    if args.corpus in CORPORA:
        read, preset = CORPORA[args.corpus]
        text = read()
    else:
        text, preset = Path(args.corpus).read_text(encoding="utf-8"), "en"
    space = load_space(args.space or preset)
    newline = space.base_config().to_dict()["newline-markup"]
    space = space.freeze({"newline-markup": newline}) if "newline-markup" in space.params else space
    out = args.out or Path("runs") / f"target-{Path(args.corpus).stem}"
    if (out / "journal.log").exists():
        raise SystemExit(f"{out} holds a run; choose another -o")
    knobs = args.knob or KNOBS.get(preset, KNOBS["en"])
    references = {k: {kv.partition("=")[0]: parse_set_value(kv.partition("=")[2]) for kv in k.split()} for k in knobs}
    fit = Legibility(text, args.model, args.pages)
    settings = Settings(population=args.population, generations=args.generations, seed=args.seed, floor="base",
                        minutes=args.minutes, crossover=args.crossover)
    started = time.perf_counter()

    def progress(g, everyone):
        best = everyone[0]
        print(f"  generation {g}: best ρ {best.evaluation.rho:.3f} quality {best.evaluation.quality:.4f} "
              f"({len(everyone)} candidates, {(time.perf_counter() - started) / 60:.1f} min)", flush=True)

    print(f"corpus {args.corpus}: {len(text):,} characters; space {space.name} over {space.base}, "
          f"newline {newline!r}; {args.pages} pages read per candidate; limit {args.minutes:g} min", flush=True)
    search = Search(space, fit, f"ocr/{args.model}/{args.pages}/target-{args.corpus}", out, settings, progress,
                    references=references, after_generation=lambda s: write_report(s, text),
                    about={"model": args.model, "corpus": [args.corpus]})
    found = search.run()
    record = load(out)["generations"]
    gens = [g for g in record if g["generation"] >= 0]
    wall = sum(g["wall_s"] for g in gens)  # evaluating
    whole = time.perf_counter() - started - sum(g["wall_s"] for g in record if g["generation"] < 0)
    # the generations, with the report after each; not the references
    evaluated = sum(g["evaluated"] for g in gens)
    base = next(c for c in search.reference if c.label == "base")
    b_rho, b_q = base.evaluation.rho, base.evaluation.quality

    def line(name, c):
        e = c.evaluation
        return f"  {name:28s} ρ {e.rho:6.3f}  {e.rho / b_rho:5.3f}x base  CER {100 * (1 - e.quality):5.2f}%"

    print("references:")
    for c in search.reference:
        print(line(c.label, c) + ("" if c.evaluation.quality >= b_q else "  (reads worse than the base)"))
    best = found[0]
    print("found:")
    print(line("best", best))
    changed = {k: v for k, v in best.theta.items() if base.theta.get(k) != v}
    print(f"  θ changed from the base: {changed}")
    print(f"search: {len(gens)} generations, {evaluated} evaluations in {whole / 60:.1f} min "
          f"({evaluated / whole * 60:.2f} evaluations/min; {wall / 60:.1f} min evaluating, the rest writing the "
          f"report after each generation); references evaluated before, not counted")
    knob_ok = [c for c in search.reference if c.label != "base" and c.evaluation.quality >= b_q]
    best_knob = max((c.evaluation.rho for c in knob_ok), default=b_rho)
    meets = best.evaluation.quality >= b_q
    met = "met" if meets and best.evaluation.rho >= 1.5 * b_rho else "not met"
    print(f"target: ρ ≥ 1.5x the base's at a CER no worse: {met} "
          f"({best.evaluation.rho / b_rho:.3f}x); beats every single knob that reads as well "
          f"(best {best_knob / b_rho:.3f}x): {'yes' if meets and best.evaluation.rho > best_knob else 'no'}")
    print(f"report: {out / 'report.html'}")


if __name__ == "__main__":
    main()
