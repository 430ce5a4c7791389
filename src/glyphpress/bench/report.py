"""Reports of benchmark runs: one or more run folders (each a ``results.jsonl``, see ``results``) summed up
as tables and plots, in ``report.md`` (with the plots as PNG files beside it) and ``report.html`` (one
self-contained file: inline CSS, plots embedded as base64 PNG, every text escaped, nothing fetched).

    write_report(folders, out=None) -> (report.md, report.html)
    summarize(folders) -> list[dict]     # the same figures as data (``glyphpress bench report --json``)

Results are grouped by run (the folder's name, or ``run.json``'s ``"label"``), task, length bin, route,
model and θ; an item answered more than once (an errored item run again) counts once, by its last line.
Bins are ordered by length: "4K" < "16K" < "128K", LongBench-E's "0-4k" < "4-8k" < "8k+", a
bin whose label is not a length by its items' lengths, else by name. For each group (a table row):

- ``score``: the mean of the items' scores × 100, rounded to 2 decimals as the reference benchmarks
  report it, over the items answered without an error; ``n`` counts every item, ``errors`` those with an
  error, which are counted there and never scored as 0;
- the means of text tokens, vision tokens, ρ, pages, latency and the engine's prompt tokens over the
  answered items (latency leaves out answers that came from the answer cache);
- on the visual and ocr routes, ``speedup`` (the text route's mean latency / this row's) and
  ``prompt_ratio`` (the text route's mean prompt tokens / this row's), against the text row of the same
  run, task and bin with the same model, else the only text model there.

An ``overall`` row per run, route, model and θ is the macro average over tasks: each task's score over
its answered items (in one bin, or in all bins), then the plain mean over the tasks that have one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean

from ..errors import GlyphpressError
from ..reporting import Doc, Plot, Table, figure, png, tex
from .results import RUN, Result, load
from .task import length_label

ROUTES = ("text", "visual", "ocr")  # the order of rows in a table: the baseline first
ALL = "all"  # the overall column over every bin
NONE = "—"  # a figure that does not exist (no answered item, no text route to compare with ...)
ERRORS_SHOWN = 20  # errored items listed per run
CUT = 160  # characters of a prediction or an error message shown
WRAP = frozenset({"answer", "error"})  # columns of running text, wrapped in the HTML

_BIN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([km]?)\s*(?:-\s*\d+(?:\.\d+)?\s*([km]?)|\+)?\s*$", re.IGNORECASE)
_UNIT = {"": 1, "k": 1024, "m": 1024 * 1024}

NOTES = [
    "Score: the mean of the items' scores × 100, rounded to 2 decimals, over the items answered without an error. "
    "Items with an error are counted under errors, not scored as 0; n counts every item.",
    "Text tokens, vision tokens, ρ (context text tokens per vision token), pages, latency (seconds) and prompt "
    "tokens (as the engine reported them) are means over the answered items; latency leaves out answers that "
    "came from the answer cache.",
    "Speedup: the text route's mean latency divided by this row's; prompt ratio: the text route's mean prompt "
    "tokens divided by this row's. Both compare rows of the same run, task and bin, against the text row with the "
    "same model, else the only text model there.",
    "An item answered more than once (an errored item run again) counts once, by its last line.",
    "Overall: the macro average over tasks. Each task's score over its answered items (in the bin, or in all bins), "
    "then the plain mean over the tasks that have a score; the tasks column says how many.",
]


@dataclass
class _Run:
    label: str
    folder: Path
    results: list[Result]


@dataclass
class _Summary:
    runs: list[_Run]
    tasks: list[str]
    bins: list[str]  # in length order
    cells: list[dict]  # one per run, task, bin, route, model, θ, in table order
    overall: list[dict]  # one per run, route, model, θ: scores by bin, and over all bins


# ---------------------------------------------------------------------------------------------- the figures


def summarize(folders: Sequence[str | Path]) -> list[dict]:
    """The aggregated table as data: one dict per group (``"kind": "task"``) and per overall row
    (``"kind": "overall"``, with ``"task": "overall"``, one per bin and one with ``"bin": "all"``)."""
    s = _summarize(folders)
    rows = [{"kind": "task", **c} for c in s.cells]
    for o in s.overall:
        head = {k: o[k] for k in ("run", "folder", "route", "model", "theta", "theta_hash")}
        for b, figures in o["bins"].items():
            rows.append({"kind": "overall", **head, "task": "overall", "bin": b, **figures})
    return rows


def _summarize(folders: Sequence[str | Path]) -> _Summary:
    if not folders:
        raise GlyphpressError("no run folder given; name at least one folder written by `glyphpress bench run`")
    runs = _load_runs(folders)

    groups: dict[tuple, list[Result]] = {}
    tasks: dict[str, str] = {}  # task -> family, in order of appearance
    models: dict[str, int] = {}
    thetas: dict[tuple, int] = {}
    lengths: dict[str, list[int]] = {}
    for i, run in enumerate(runs):
        for r in run.results:
            tasks.setdefault(r.task, r.family)
            models.setdefault(r.model, len(models))
            th = (r.theta_name, r.theta_hash)
            thetas.setdefault(th, len(thetas))
            if r.length is not None:
                lengths.setdefault(r.bin, []).append(r.length)
            groups.setdefault((i, r.task, r.bin, r.route, r.model, th), []).append(r)
    bins = sorted({k[2] for k in groups}, key=lambda b: _bin_key(b, lengths.get(b, [])))
    shown = _theta_names(list(thetas))
    order = {b: n for n, b in enumerate(bins)}
    task_order = {t: n for n, t in enumerate(tasks)}

    def sort_key(k: tuple) -> tuple:
        i, task, b, route, model, th = k
        return (i, task_order[task], order[b], _route_rank(route), models[model], thetas[th])

    cells = []
    for k in sorted(groups, key=sort_key):
        i, task, b, route, model, th = k
        items = groups[k]
        cells.append({
            "run": runs[i].label, "folder": str(runs[i].folder), "task": task, "family": tasks[task], "bin": b,
            "length": _mean(r.length for r in items), "route": route, "model": model, "theta": shown[th],
            "theta_hash": th[1], **_figures(items), "speedup": None, "prompt_ratio": None,
        })
    _compare_with_text(cells)
    overall = _overall(runs, groups, bins, models, thetas, shown)
    return _Summary(runs, list(tasks), bins, cells, overall)


def _load_runs(folders: Sequence[str | Path]) -> list[_Run]:
    runs: list[_Run] = []
    seen: set[str] = set()
    for folder in folders:
        path = Path(folder)
        results = load(path)  # a GlyphpressError when the folder has no results.jsonl
        label = _run_label(path)
        base, n = label, 2
        while label in seen:
            label, n = f"{base} ({n})", n + 1
        seen.add(label)
        latest = {r.key: r for r in results}  # an item run again (after an error) counts once: its last line
        runs.append(_Run(label, path, _fill_bins(list(latest.values()))))
    return runs


def _run_label(folder: Path) -> str:
    try:
        run = json.loads((folder / RUN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        run = None
    if isinstance(run, dict) and run.get("label") not in (None, ""):
        return str(run["label"])
    return folder.resolve().name or str(folder)


def _fill_bins(results: list[Result]) -> list[Result]:
    """A result without a bin gets its task's one length as its label ("4K"), else "all"."""
    by_task: dict[str, set] = {}
    for r in results:
        if not r.bin:
            by_task.setdefault(r.task, set()).add(r.length)
    for r in results:
        if not r.bin:
            one = by_task[r.task]
            n = next(iter(one)) if len(one) == 1 else None
            r.bin = length_label(n) if isinstance(n, int) and n > 0 else ALL
    return results


def _bin_key(label: str, lengths: list[int]) -> tuple:
    """Length bins in length order: the label read as a length or a range ("4K", "0-4k", "8k+"), else the
    shortest item in the bin, else the label's text after every bin with a length; "all" (no bin) last."""
    m = _BIN.match(label)
    if label == ALL:  # items of tasks without bins, last
        return (2, 0.0, label)
    if m:
        unit = (m.group(2) or m.group(3) or "").lower()
        return (0, float(m.group(1)) * _UNIT[unit], label)
    if lengths:
        return (0, float(min(lengths)), label)
    if label in _GROUPS:  # LongBench v2's length groups
        return (1, float(_GROUPS.index(label)), label)
    return (1, float(len(_GROUPS)), label)


_GROUPS = ("short", "medium", "long")


def _route_rank(route: str) -> tuple:
    return (ROUTES.index(route), "") if route in ROUTES else (len(ROUTES), route)


def _theta_names(thetas: list[tuple]) -> dict[tuple, str]:
    """θ as shown: its name, with the start of its hash where one name covers several θ; else the hash."""
    names: dict[str, set] = {}
    for name, digest in thetas:
        if name:
            names.setdefault(name, set()).add(digest)
    out = {}
    for name, digest in thetas:
        if name:
            out[(name, digest)] = f"{name} ({(digest or '')[:8]})" if len(names[name]) > 1 else name
        else:
            out[(name, digest)] = (digest or "")[:12]
    return out


def _mean(values: Iterable[float | int | None]) -> float | None:
    v = [x for x in values if x is not None]
    return fmean(v) if v else None


def _percent(values: Sequence[float]) -> float | None:
    return round(fmean(values) * 100, 2) if values else None


def _figures(items: list[Result]) -> dict:
    answered = [r for r in items if r.error is None]
    return {
        "score": _percent([r.score for r in answered if r.score is not None]),
        "n": len(items),
        "errors": len(items) - len(answered),
        "text_tokens": _mean(r.text_tokens for r in answered),
        "vision_tokens": _mean(r.vision_tokens for r in answered),
        "ratio": _mean(r.ratio for r in answered),
        "pages": _mean(r.pages for r in answered),
        "latency_s": _mean(r.latency_s for r in answered if not r.cached),
        "prompt_tokens": _mean(r.prompt_tokens for r in answered),
    }


def _compare_with_text(cells: list[dict]) -> None:
    """Speedup and prompt-token ratio of each visual or ocr row against its text row (see the docstring)."""
    text: dict[tuple, list[dict]] = {}
    for c in cells:
        if c["route"] == "text":
            text.setdefault((c["run"], c["task"], c["bin"]), []).append(c)
    for c in cells:
        if c["route"] == "text" or not c["model"]:  # an OCR transcript without an LLM answers nothing to time
            continue
        baseline = text.get((c["run"], c["task"], c["bin"]), [])
        same = [t for t in baseline if t["model"] == c["model"]]
        pick = same or (baseline if len({t["model"] for t in baseline}) == 1 else [])
        if not pick:
            continue
        t = pick[0]
        if t["latency_s"] is not None and c["latency_s"]:
            c["speedup"] = t["latency_s"] / c["latency_s"]
        if t["prompt_tokens"] is not None and c["prompt_tokens"]:
            c["prompt_ratio"] = t["prompt_tokens"] / c["prompt_tokens"]


def _overall(runs: list[_Run], groups: dict[tuple, list[Result]], bins: list[str], models: dict[str, int],
             thetas: dict[tuple, int], shown: dict[tuple, str]) -> list[dict]:
    """Macro averages over tasks, per run, route, model and θ, for each bin and over all bins."""
    items: dict[tuple, dict[str, dict[str, list[Result]]]] = {}  # row -> bin -> task -> items
    for (i, task, b, route, model, th), rs in groups.items():
        by_bin = items.setdefault((i, route, model, th), {})
        by_bin.setdefault(b, {}).setdefault(task, []).extend(rs)
        by_bin.setdefault(ALL, {}).setdefault(task, []).extend(rs)
    out = []
    for key in sorted(items, key=lambda k: (k[0], _route_rank(k[1]), models[k[2]], thetas[k[3]])):
        i, route, model, th = key
        figures = {}
        for b in [*bins, ALL]:
            by_task = items[key].get(b)
            if not by_task:
                continue
            task_scores, n, errors, ratios = [], 0, 0, []
            for rs in by_task.values():
                f = _figures(rs)
                n, errors = n + f["n"], errors + f["errors"]
                scores = [r.score for r in rs if r.error is None and r.score is not None]
                if scores:
                    task_scores.append(fmean(scores) * 100)
                if f["ratio"] is not None:
                    ratios.append(f["ratio"])
            figures[b] = {"score": round(fmean(task_scores), 2) if task_scores else None,
                          "tasks": len(task_scores), "n": n, "errors": errors, "ratio": _mean(ratios)}
        out.append({"run": runs[i].label, "folder": str(runs[i].folder), "route": route, "model": model,
                    "theta": shown[th], "theta_hash": th[1], "bins": figures})
    return out


# ---------------------------------------------------------------------------------------------- the report


def write_report(folders: Sequence[str | Path], out: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``report.md`` (with its plots as PNG files beside it) and ``report.html`` into ``out`` (default:
    the first folder); returns their paths."""
    s = _summarize(folders)
    doc = Doc("Benchmark report")
    doc.items([_run_line(run) for run in s.runs])
    if not s.cells:
        doc.para("No results yet: these folders' results.jsonl files hold no answered or failed item.")
    else:
        _overall_section(doc, s)
        _plots_section(doc, s)
        _task_sections(doc, s)
        _errors_section(doc, s)
        _examples_section(doc, s)
        doc.heading(2, "Notes")
        doc.items(NOTES)

    return doc.write(out if out is not None else folders[0])


def _run_line(run: _Run) -> str:
    n = len(run.results)
    errors = sum(r.error is not None for r in run.results)
    times = sorted(r.time for r in run.results if r.time)
    when = f", {times[0]} to {times[-1]}" if times else ""
    what = f"{n} results ({errors} with an error){when}" if n else "no results yet"
    return f"{run.label}: {run.folder}, {what}"


def _overall_section(doc: Doc, s: _Summary) -> None:
    doc.heading(2, "Overall (macro average over tasks)")
    bins = [b for b in s.bins if any(b in o["bins"] for o in s.overall)]
    multi = len(s.runs) > 1
    head = (["run"] if multi else []) + ["route", "model", "θ", "tasks", *bins, "all bins", "errors"]
    rows = []
    for o in s.overall:
        every = o["bins"][ALL]
        cells = [_num(o["bins"][b]["score"], ".2f") if b in o["bins"] else NONE for b in bins]
        rows.append(([o["run"]] if multi else []) + [o["route"], _model(o), o["theta"] or NONE, str(every["tasks"]),
                                                     *cells, _num(every["score"], ".2f"), str(every["errors"])])
    n_text = len(head) - len(bins) - 3
    doc.table(Table(head, [False] * n_text + [True] * (len(bins) + 3), rows, wrap=WRAP))


def _task_sections(doc: Doc, s: _Summary) -> None:
    doc.heading(2, "By task and length")
    multi = len(s.runs) > 1
    head = (["run"] if multi else []) + ["route", "model", "θ", "score", "n", "errors", "text tokens",
                                         "vision tokens", "ρ", "pages", "latency s", "prompt tokens", "speedup",
                                         "prompt ratio"]
    numeric = [False] * (4 if multi else 3) + [True] * 11
    tables: dict[tuple[str, str], list[list[str]]] = {}
    for c in s.cells:
        tables.setdefault((c["task"], c["bin"]), []).append(([c["run"]] if multi else []) + [
            c["route"], _model(c), c["theta"] or NONE, _num(c["score"], ".2f"), str(c["n"]), str(c["errors"]),
            _num(c["text_tokens"], ",.0f"), _num(c["vision_tokens"], ",.0f"), _num(c["ratio"], ".2f"),
            _num(c["pages"], ".1f"), _num(c["latency_s"], ".2f"), _num(c["prompt_tokens"], ",.0f"),
            _num(c["speedup"], ".2f", "×"), _num(c["prompt_ratio"], ".2f", "×")])
    for task in s.tasks:
        for b in s.bins:
            if (task, b) in tables:
                doc.heading(3, f"{task} · {b}")
                doc.table(Table(head, numeric, tables[(task, b)], wrap=WRAP))


def _errors_section(doc: Doc, s: _Summary) -> None:
    failed = [(run, r) for run in s.runs for r in run.results if r.error is not None]
    if not failed:
        return
    doc.heading(2, "Errors")
    multi = len(s.runs) > 1
    rows = []
    for run in s.runs:
        mine = [r for r in run.results if r.error is not None]
        for r in mine[:ERRORS_SHOWN]:
            rows.append(([run.label] if multi else []) + [r.task, r.bin, r.sample, r.route, r.model or NONE,
                                                          _cut(r.error or "")])
        if len(mine) > ERRORS_SHOWN:
            rows.append(([run.label] if multi else []) + [f"... and {len(mine) - ERRORS_SHOWN} more"] + [""] * 5)
    head = (["run"] if multi else []) + ["task", "bin", "sample", "route", "model", "error"]
    doc.table(Table(head, [False] * len(head), rows, wrap=WRAP))


def _examples_section(doc: Doc, s: _Summary) -> None:
    """Per task, the first sample (shortest bin, then by id) and what each run, route and model answered."""
    order = {b: n for n, b in enumerate(s.bins)}
    doc.heading(2, "Examples")
    doc.para(f"For each task, one sample and each answer to it (cut to {CUT} characters).", note=True)
    for task in s.tasks:
        answers = [(run, r) for run in s.runs for r in run.results if r.task == task]
        first = min(answers, key=lambda a: (order[a[1].bin], a[1].sample))[1]
        same = [(run, r) for run, r in answers if r.sample == first.sample]
        same.sort(key=lambda a: _route_rank(a[1].route))
        doc.heading(3, f"{task} · {first.bin} · {first.sample}")
        doc.para("References: " + _cut(" | ".join(first.references)))
        multi = len(s.runs) > 1
        rows = [([run.label] if multi else []) + [
            r.route, r.model or NONE, r.theta_name or (r.theta_hash or "")[:12] or NONE,
            _num(None if r.score is None else r.score * 100, ".2f"),
            _cut("error: " + r.error if r.error else r.prediction)] for run, r in same]
        head = (["run"] if multi else []) + ["route", "model", "θ", "score", "answer"]
        doc.table(Table(head, [False] * (len(head) - 2) + [True, False], rows, wrap=WRAP))


def _model(row: dict) -> str:
    if row["model"]:
        return row["model"]
    return "(transcript)" if row["route"] == "ocr" else NONE


def _num(value: float | None, spec: str, suffix: str = "") -> str:
    return NONE if value is None else format(value, spec) + suffix


def _cut(text: str, n: int = CUT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


# ---------------------------------------------------------------------------------------------- the plots


def _plots_section(doc: Doc, s: _Summary) -> None:
    doc.heading(2, "Plots")
    for plot in (_score_by_length(s), _ratio_by_length(s), _score_by_ratio(s)):
        doc.plot(plot)


def _series_names(rows: list[dict]) -> list[str]:
    """A legend label per overall row: the route, and each of run, model and θ where they differ."""
    varying = [p for p in ("run", "model", "theta") if len({r[p] for r in rows}) > 1]
    names = []
    for r in rows:
        bits = [r["run"]] if "run" in varying else []
        bits.append(r["route"])
        if "model" in varying:
            bits.append(_model(r))
        if "theta" in varying and r["theta"]:
            bits.append(r["theta"])
        names.append(" · ".join(bits))
    return names


def _by_length(s: _Summary, name: str, title: str, field: str, ylabel: str, missing: str) -> Plot:
    rows = [o for o in s.overall if any(f[field] is not None for b, f in o["bins"].items() if b != ALL)]
    bins = [b for b in s.bins if any(o["bins"].get(b, {}).get(field) is not None for o in rows)]
    if not rows:
        return Plot(name, title, None, missing)
    if len(bins) < 2:
        return Plot(name, title, None, f"only one length bin ({bins[0]}): see the tables.")
    fig, ax = figure()
    for row, label, style in zip(rows, _series_names(rows), _styles(s, rows)):
        xs = [j for j, b in enumerate(bins) if row["bins"].get(b, {}).get(field) is not None]
        ys = [row["bins"][bins[j]][field] for j in xs]
        ax.plot(xs, ys, label=tex(label), **style)
    if field == "score":
        ax.set_ylim(-3, 103)
    ax.set_xticks(range(len(bins)), [tex(b) for b in bins])
    ax.set_xlabel("length bin")
    ax.set_ylabel(ylabel)
    return Plot(name, title, png(fig, ax, title))


def _score_by_length(s: _Summary) -> Plot:
    return _by_length(s, "report-score-length.png", "Score against length (macro average over tasks)", "score",
                      "score (×100)", "no scored item yet, so no score to plot.")


def _ratio_by_length(s: _Summary) -> Plot:
    return _by_length(s, "report-ratio-length.png", "ρ (text tokens per vision token) against length", "ratio", "ρ",
                      "no route with pages here (only the text route), so no ρ to plot.")


def _score_by_ratio(s: _Summary) -> Plot:
    name, title = "report-score-ratio.png", "Score against ρ, per θ and length bin"
    rows = [o for o in s.overall if any(f["score"] is not None and f["ratio"] is not None
                                        for b, f in o["bins"].items() if b != ALL)]
    points = sum(1 for o in rows for b, f in o["bins"].items()
                 if b != ALL and f["score"] is not None and f["ratio"] is not None)
    if points < 2:
        return Plot(name, title, None, "fewer than two scored θ and bins on a route with pages, so nothing to "
                                        "compare.")
    fig, ax = figure()
    for row, label, style in zip(rows, _series_names(rows), _styles(s, rows)):
        pts = [(f["ratio"], f["score"], b) for b in s.bins if (f := row["bins"].get(b))
               and f["score"] is not None and f["ratio"] is not None]
        line = ax.plot([p[0] for p in pts], [p[1] for p in pts], label=tex(label), **{**style, "linestyle": ":"})[0]
        for x, y, b in pts:
            ax.annotate(tex(f"{row['theta'] or row['route']} · {b}"), (x, y), textcoords="offset points",
                        xytext=(5, 4), fontsize=8, color=line.get_color())
    ax.set_xlabel("ρ (text tokens per vision token)")
    ax.set_ylabel("score (×100)")
    ax.set_ylim(-3, 103)
    return Plot(name, title, png(fig, ax, title))


def _styles(s: _Summary, rows: list[dict]) -> list[dict]:
    """A colour per route, model and θ, a line style and marker per run: one setup in two runs looks alike."""
    setups: dict[tuple, int] = {}
    runs = {run.label: i for i, run in enumerate(s.runs)}
    out = []
    for r in rows:
        colour = setups.setdefault((r["route"], r["model"], r["theta"]), len(setups))
        i = runs[r["run"]]
        out.append({"color": f"C{colour % 10}", "linestyle": ("-", "--", "-.", ":")[i % 4],
                    "marker": "osD^v<>p*h"[i % 10]})
    return out
