"""The report of a θ search, from its run folder (``run.json``, ``history.jsonl``, ``generations.jsonl``,
``llm.jsonl``): ``report.md`` with its pictures and a self-contained ``report.html`` (see ``reporting``).

- the run: fitness, model, space, generations, evaluations and evaluations per minute, the quality floor;
- the best θ beside the base θ and the references (ρ, ρ against the base's, quality, pages, score) and the
  keys it changed;
- the Pareto plot (ρ against quality, every candidate by origin, the front, the references, the floor);
- the best score per generation (table and plot), with the children screened out by ρ;
- the guiding LLM's candidates against the genetic operators' (how many, how they scored, how often one was
  a generation's best);
- a sample page of the best θ, of the base and of each reference, side by side (the middle page of the text).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from statistics import fmean
from typing import Any

from ..reporting import Doc, Picture, Plot, Table, figure, png
from .fitness import pareto, spread
from .space import Space

ORIGINS = ("base", "mutant", "random", "child", "stride", "elite", "llm")
COLOURS = {"base": "#1f77b4", "mutant": "#9467bd", "random": "#9ca3af", "child": "#2ca02c", "stride": "#17becf",
           "elite": "#ff7f0e", "llm": "#d62728", "reference": "#111827"}
NONE = "—"


def _lines(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a line cut by a kill
    return out


def load(folder: str | Path) -> dict[str, Any]:
    """A run folder's records: ``run`` (run.json), ``history`` (every line), ``candidates`` (one per θ seen
    by the search, by key, references left out), ``references`` (by label), ``generations`` (the last line per
    generation), ``llm`` (one line per generation asked)."""
    folder = Path(folder)
    run = json.loads((folder / "run.json").read_text(encoding="utf-8")) if (folder / "run.json").is_file() else {}
    history = _lines(folder / "history.jsonl")
    candidates: dict[str, dict] = {}
    references: dict[str, dict] = {}
    for h in history:
        if h["origin"] == "reference":
            references[h.get("label") or h["key"]] = h
        elif h["key"] not in candidates:
            candidates[h["key"]] = h  # the first time a θ was seen: its origin is where it came from
    generations: dict[int, dict] = {}
    for g in _lines(folder / "generations.jsonl"):
        generations[g["generation"]] = g
    return {"folder": folder, "run": run, "history": history, "candidates": candidates, "references": references,
            "generations": [generations[k] for k in sorted(generations)], "llm": _lines(folder / "llm.jsonl")}


def write_report(search_or_folder, text: str | None = None) -> tuple[Path, Path]:
    """Write the report into the run's folder (a ``Search`` or its folder); ``text`` is what the sample pages
    show (default: the corpus named in run.json, where it is still there)."""
    folder = Path(getattr(search_or_folder, "out", search_or_folder))
    r = load(folder)
    doc = Doc("θ search report")
    _run_section(doc, r)
    cands = sorted(r["candidates"].values(), key=lambda c: -(c["score"] if c["score"] is not None else -9))
    if not cands:
        doc.para("No candidate evaluated yet.")
        return doc.write(folder)
    best, base = cands[0], r["references"].get("base")
    _best_section(doc, r, best, base)
    doc.heading(2, "Pareto front: ρ against quality")
    doc.plot(_pareto_plot(r, cands))
    _generations_section(doc, r)
    _origins_section(doc, r, cands)
    _pages_section(doc, r, best, text)
    return doc.write(folder)


# ---------------------------------------------------------------------------------------------- sections


def _run_section(doc: Doc, r: dict) -> None:
    run, gens = r["run"], [g for g in r["generations"] if g["generation"] >= 0]
    s = run.get("settings", {})
    space = run.get("space", {})
    evaluated = sum(g["evaluated"] for g in r["generations"])
    wall = sum(g["wall_s"] for g in r["generations"] if g["evaluated"])
    floor = next((g["floor"] for g in reversed(r["generations"]) if g.get("floor") is not None), None)
    doc.items([
        f"Fitness: {run.get('fitness', NONE)}; model (vision tokens): {run.get('model', NONE)}",
        f"Space: {space.get('name', NONE)} over {space.get('base', NONE)}, "
        f"{sum(1 for p in space.get('keys', {}).values() if 'fixed' not in p)} free keys",
        f"Generations: {len(gens)} of {s.get('generations', NONE)}, population {s.get('population', NONE)}, "
        f"seed {s.get('seed', NONE)}",
        f"Candidates: {len(r['candidates'])} θ (and {len(r['references'])} references); evaluations run, the "
        f"references' included: {evaluated}" + (f", {evaluated / wall * 60:.2f} per minute evaluating" if wall else ""),
        "Score: " + (f"ρ while quality stays at or above {floor:.4f}" + (" (the base θ's own quality)"
                                                                         if s.get("floor") == "base" else "")
                     if floor is not None else f"weight {s['weight']} x quality + (1 - weight) x ρ/(1+ρ)"
                     if s.get("weight") is not None else "ρ"),
        f"Guiding LLM: {run['llm']['model']} at {run['llm']['url']}" if run.get("llm") else "Guiding LLM: none "
        "(unguided)",
    ])


def _best_section(doc: Doc, r: dict, best: dict, base: dict | None) -> None:
    doc.heading(2, "The best θ, the base and the references")
    rows = [("best", best)] + [(f"reference: {name}", h) for name, h in r["references"].items()]
    rated = [c for c in r["candidates"].values() if c["quality"] is not None]
    front = [rated[i] for i in pareto([(c["rho"], c["quality"]) for c in rated])]
    rows += [(f"Pareto {i + 1}", c) for i, c in enumerate(sorted(front, key=lambda c: -c["rho"]))
             if c["key"] != best["key"]]
    base_rho = base["rho"] if base else None
    table = []
    for name, h in rows:
        q = h["quality"]
        table.append([name, f"{h['rho']:.3f}", f"{h['rho'] / base_rho:.3f}x" if base_rho else NONE,
                      NONE if q is None else f"{q:.4f}", NONE if q is None else f"{100 * (1 - q):.2f}%",
                      str(h["pages"]), NONE if h["score"] is None else f"{h['score']:.4f}", h.get("origin", ""),
                      str(h.get("generation", ""))])
    doc.table(Table(["θ", "ρ", "ρ / base", "quality", "CER", "pages", "score", "origin", "generation"],
                    [False, True, True, True, True, True, True, False, True], table))
    if base:
        changed = [f"{k}: {_v(base['theta'].get(k))} → {_v(v)}" for k, v in best["theta"].items()
                   if base["theta"].get(k) != v]
        doc.para("The best θ against the base: " + ("; ".join(changed) if changed else "no key changed") + ".")
    doc.para("best.json in this folder is the best θ as a config (glyphpress render -c best.json); pareto/ holds "
             "the front's.", note=True)


def _v(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


def _pareto_plot(r: dict, cands: list[dict]) -> Plot:
    name, title = "search-pareto.png", "ρ against quality: every candidate, the Pareto front and the references"
    rated = [c for c in cands if c["quality"] is not None]
    if not rated:
        return Plot(name, title, None, "this fitness measures no quality (compression alone), so there is no front.")
    floor = next((g["floor"] for g in reversed(r["generations"]) if g.get("floor") is not None), None)
    qs = [c["quality"] for c in rated]
    top = max(qs + ([floor] if floor is not None else []))
    # the axis shows the region that matters: from a little under the floor (or the lowest quality) up;
    # candidates that read far worse sit on its bottom edge as triangles
    bottom = min(qs) - 0.005 if floor is None else max(min(min(qs), floor - 0.02), floor - 0.05)
    bottom = max(0.0, bottom)
    fig, ax = figure()
    for origin in ORIGINS:
        pts = [c for c in rated if c["origin"] == origin]
        inside = [c for c in pts if c["quality"] >= bottom]
        below = [c for c in pts if c["quality"] < bottom]
        if inside:
            ax.scatter([c["rho"] for c in inside], [c["quality"] for c in inside], s=22, alpha=0.8,
                       color=COLOURS[origin], label=f"{origin} ({len(pts)})")
        if below:
            ax.scatter([c["rho"] for c in below], [bottom] * len(below), s=26, marker="v", alpha=0.8,
                       color=COLOURS[origin], label=None if inside else f"{origin} ({len(pts)})")
    front = sorted((rated[i] for i in pareto([(c["rho"], c["quality"]) for c in rated])), key=lambda c: c["rho"])
    ax.plot([c["rho"] for c in front], [max(bottom, c["quality"]) for c in front], color="#6b7280",
            linewidth=1.2, drawstyle="steps-post", label="Pareto front")
    for label, h in r["references"].items():
        if h["quality"] is not None:
            y = max(bottom, h["quality"])
            ax.scatter([h["rho"]], [y], marker="*", s=120, color=COLOURS["reference"], zorder=5)
            ax.annotate(label, (h["rho"], y), textcoords="offset points", xytext=(6, 4), fontsize=7, rotation=20)
    if floor is not None:
        ax.axhline(floor, color="#b91c1c", linestyle=":", linewidth=1, label=f"floor {floor:.4f}")
    ax.set_ylim(bottom - 0.002, min(1.0, top + 0.004) if top < 1.0 else 1.002)
    if any(c["quality"] < bottom for c in rated):
        ax.text(0.01, 0.02, f"▼ read worse than {bottom:.3f}", transform=ax.transAxes, fontsize=7, color="#57606a")
    ax.set_xlabel("ρ (text tokens per vision token)")
    ax.set_ylabel("quality (1 - CER, or the task's score)")
    return Plot(name, title, png(fig, ax, title))


def _generations_section(doc: Doc, r: dict) -> None:
    doc.heading(2, "Best score per generation")
    gens = [g for g in r["generations"] if g["generation"] >= 0 and "best" in g]
    if not gens:
        doc.para("No generation finished yet.")
        return
    by_key = r["candidates"]
    rows = []
    for g in gens:
        b = by_key.get(g.get("best_key"), {})
        q = b.get("quality")
        rows.append([str(g["generation"]), str(g["candidates"]), str(g["evaluated"]), str(g.get("screened", 0)),
                     f"{g['best']:.4f}", f"{g['best_so_far']:.4f}", f"{b['rho']:.3f}" if b else NONE,
                     NONE if q is None else f"{q:.4f}", f"{g['wall_s']:.0f}"])
    doc.table(Table(["generation", "candidates", "evaluated", "screened out", "best", "best so far",
                     "ρ of best so far", "quality", "seconds"], [True] * 9, rows))
    doc.para("Screened out: candidates whose ρ, counted without drawing, could not beat the best so far (in "
             "generation 0: the base) even at perfect quality, so their pages were never read. Seconds: the "
             "generation's wall time in the process that ran it (a generation finished from the journal on resume "
             "takes little).", note=True)
    fig, ax = figure()
    xs = [g["generation"] for g in gens]
    ax.plot(xs, [g["best"] for g in gens], marker="o", label="best of the generation")
    ax.plot(xs, [g["best_so_far"] for g in gens], marker="s", linestyle="--", label="best so far")
    base = r["references"].get("base")
    if base and base["score"] is not None:
        ax.axhline(base["score"], color="#1f77b4", linestyle=":", label="base θ")
    ax.set_xlabel("generation")
    ax.set_ylabel("score")
    ax.set_xticks(xs)
    title = "Best score per generation"
    doc.plot(Plot("search-generations.png", title, png(fig, ax, title)))


def _origins_section(doc: Doc, r: dict, cands: list[dict]) -> None:
    doc.heading(2, "Where candidates came from: the guiding LLM against the genetic operators")
    best_of: dict[str, int] = {}
    for g in r["generations"]:
        if g.get("best_key") and g["generation"] >= 0:
            origin = r["candidates"].get(g["best_key"], {}).get("origin")
            if origin:
                best_of[origin] = best_of.get(origin, 0) + 1
    floor = next((g["floor"] for g in reversed(r["generations"]) if g.get("floor") is not None), None)
    rows = []
    for origin in ORIGINS:
        group = [c for c in cands if c["origin"] == origin and c["score"] is not None]
        if not group:
            continue
        scores = [c["score"] for c in group]
        meets = NONE if floor is None else f"{sum(c['quality'] >= floor for c in group)}"
        rows.append([origin, str(len(group)), f"{fmean(scores):.4f}", f"{max(scores):.4f}",
                     f"{fmean(c['rho'] for c in group):.3f}", meets, str(best_of.get(origin, 0))])
    doc.table(Table(["origin", "candidates", "mean score", "best score", "mean ρ", "meet the floor",
                     "best so far (generations)"], [False] + [True] * 6, rows))
    doc.para("Origins: base (the space's base θ, in generation 0), mutant (of the base, in generation 0), random "
             "(drawn from the priors), child (crossover and mutation of tournament winners), stride (a step that "
             "beat the θ it was taken from, taken again), elite (carried over: counted where first seen), llm "
             "(proposed by the guiding LLM). Best so far: in how many generations the best θ so far had this "
             "origin.", note=True)
    if r["llm"]:
        errors = [x for x in r["llm"] if x.get("error")]
        last = next((x for x in reversed(r["llm"]) if x.get("analysis")), None)
        lines = [f"Generations the LLM was asked: {len(r['llm'])}; without usable proposals: {len(errors)}"
                 + (f" (last error: {errors[-1]['error'][:160]})" if errors else "")]
        if last:
            said = " ".join(last["analysis"].split())[:600]
            lines.append(f"Its last analysis (generation {last['generation']}): {said}")
        doc.items(lines)


def _pages_section(doc: Doc, r: dict, best: dict, text: str | None) -> None:
    doc.heading(2, "Sample pages")
    if text is None:
        paths = [Path(p) for p in r["run"].get("corpus", [])]
        files = sorted(f for p in paths for f in ([p] if p.is_file() else p.rglob("*") if p.is_dir() else [])
                       if f.is_file())
        if files:
            from ..io import read_bytes

            text = "\n\n".join(read_bytes(f.read_bytes(), str(f)).text for f in files)
    space_data = r["run"].get("space")
    if not text or not space_data:
        doc.para("No sample pages: the corpus this run read is no longer where run.json says.", note=True)
        return
    from ..pipeline import render

    space = Space.from_dict(space_data)
    shown = [("best", best)] + [(f"reference: {k}", h) for k, h in r["references"].items()]
    pictures = []
    for i, (name, h) in enumerate(shown):
        rendered = render(text, space.config(h["theta"]), model=r["run"].get("model"), count_text=False)
        k = spread(len(rendered.pages), 1)[0]
        buf = io.BytesIO()
        rendered.pages[k].image.save(buf, format="PNG")
        q = h["quality"]
        caption = (f"{name}: page {k + 1} of {len(rendered.pages)}, ρ {h['rho']:.2f}"
                   + ("" if q is None else f", quality {q:.4f}") + f", {rendered.pages[k].image.width}x"
                   f"{rendered.pages[k].image.height} px")
        pictures.append(Picture(f"search-page-{i}.png", caption, buf.getvalue()))
    doc.pictures(pictures)
    doc.para("Each page at the pixels the VLM receives.", note=True)
