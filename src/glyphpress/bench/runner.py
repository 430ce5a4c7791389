"""Running tasks through routes: the same samples through each route, resumable, with caches.

Every (sample, route) item becomes one line of ``DIR/results.jsonl`` as soon as it is answered (see
``results``); a re-run of the same command skips what is done and retries what failed, so a run killed at
any moment, ``kill -9`` included, loses only the items in flight. Items run ``concurrency`` at a time;
an engine error is retried ``retries`` times with a growing pause before it is recorded as the item's
error. Answers are deterministic (temperature 0) and cached, and so are renders (``caches``).
"""

from __future__ import annotations

import asyncio
import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import RenderConfig
from ..errors import GlyphpressError
from ..tokens.text import text_tokenizer, tokenizer_name
from ..tokens.vision import vision_model
from . import routes
from .caches import Answers, Renders, digest, theta_hash
from .results import Log, Result, item_key
from .task import Options, Sample, Task, length_label, select

ROUTE_CHOICES = ("visual", "text", "ocr", "both")


@dataclass
class Plan:
    """What to run."""

    tasks: list[str]
    routes: list[str]  # visual, text, ocr; "both" is visual and text
    out: Path
    theta: RenderConfig = field(default_factory=RenderConfig)
    theta_name: str = "glyph-en"
    lengths: list[int] = field(default_factory=lambda: [4096])
    n: int = 10
    seed: int = 0
    options: Options = field(default_factory=Options)
    visual: routes.Engine | None = None  # the VLM
    text: routes.Engine | None = None  # the text LLM (text and ocr routes); the VLM when not given
    concurrency: int = 4
    retries: int = 2
    cache: Path | None = None  # renders and answers kept across runs; None: in memory only
    ocr_pages: str = "answers"  # without an LLM: "answers" (the lines holding them) or "all" pages

    def routes_expanded(self) -> list[str]:
        out: list[str] = []
        for r in self.routes:
            for x in (("visual", "text") if r == "both" else (r,)):
                if x not in routes.ROUTES:
                    raise GlyphpressError(f"unknown route {r!r}; routes: {', '.join(ROUTE_CHOICES)}")
                if x not in out:
                    out.append(x)
        return out


@dataclass
class Summary:
    total: int
    done_before: int
    answered: int
    failed: int
    out: Path
    skipped: list[tuple[str, str]] = field(default_factory=list)  # tasks of a family left out: (task, why)


def build_samples(plan: Plan, tasks: list[Task] | None = None) -> list[tuple[Task, Sample]]:
    """Every sample of the plan (or of ``tasks``): generated tasks at each length, loaded tasks once."""
    out = []
    for task in select(plan.tasks, plan.options) if tasks is None else tasks:
        lengths = plan.lengths if task.generated else [None]
        for length in lengths:
            for s in task.samples(plan.n, length, plan.seed, plan.options):
                out.append((task, s))
    return out


def sample_key(sample: Sample) -> str:
    """A sample's id and a short hash of its content: a changed seed, haystack or tokenizer is a new item."""
    return f"{sample.id}#{digest(sample.before, sample.context, sample.after, sample.references)[:10]}"


def _check(plan: Plan, tasks: list[Task], route_list: list[str], skipped: list[tuple[str, str]]) -> list[Task]:
    """The tasks to run (a family's tasks that the routes cannot score are left out, in ``skipped``), or a
    one-line error for a plan that cannot run."""
    if "visual" in route_list and plan.visual is None:
        raise GlyphpressError("the visual route needs a VLM: give --model (and --base-url for a server)")
    if "text" in route_list and plan.text is None and plan.visual is None:
        raise GlyphpressError("the text route needs a model: give --model (and --base-url)")
    if "ocr" in route_list and plan.text is None and plan.visual is None:
        why = "without an LLM the ocr route scores only tasks whose answers are in the context verbatim"
        named = [t.name for t in tasks if not t.retrieval and t.name in plan.tasks]
        if named:
            raise GlyphpressError(f"{why}; {', '.join(named)} need --model and --base-url")
        skipped += [(t.name, f"{why} (give --model and --base-url)") for t in tasks if not t.retrieval]
        tasks = [t for t in tasks if t.retrieval]
        if not tasks:
            raise GlyphpressError(f"{why}; none of the tasks asked for has them: give --model and --base-url")
    if plan.n < 1:
        raise GlyphpressError("--n must be at least 1")
    if not plan.lengths and any(t.generated for t in tasks):
        raise GlyphpressError("no target length: give --lengths, for example 4k,32k")
    if plan.options.depth is not None and not 0 <= plan.options.depth <= 100:
        raise GlyphpressError(f"--depth is a percentage from 0 to 100, not {plan.options.depth}")
    if plan.concurrency < 1:
        raise GlyphpressError("--concurrency must be at least 1")
    return tasks


async def run(plan: Plan, on_item: Callable[[int, int, Result], None] | None = None) -> Summary:
    """Run the plan into ``plan.out``; ``on_item(done, total, result)`` after each item."""
    route_list = plan.routes_expanded()
    plan.lengths = list(dict.fromkeys(plan.lengths))  # a length asked twice is run once
    skipped: list[tuple[str, str]] = []
    tasks = select(plan.tasks, plan.options, skipped)
    tasks = _check(plan, tasks, route_list, skipped)
    items = await asyncio.to_thread(build_samples, plan, tasks)
    log = Log(plan.out)
    text_engine = plan.text or plan.visual
    th = theta_hash(plan.theta)
    log.write_run({"tasks": plan.tasks, "routes": route_list, "lengths": [length_label(x) for x in plan.lengths],
                   "n": plan.n, "seed": plan.seed, "theta": plan.theta.to_dict(), "theta_name": plan.theta_name,
                   "theta_hash": th, "tokenizer": tokenizer_name(plan.options.tokenizer),
                   "haystack": plan.options.haystack, "depth": plan.options.depth,
                   "visual_model": plan.visual.spec.name if plan.visual else None,
                   "text_model": text_engine.spec.name if text_engine else None})
    tools = routes.Tools(text_tokenizer(plan.options.tokenizer), Renders(plan.cache),
                         Answers(plan.cache / "answers" if plan.cache else None),
                         plan.visual.spec.geometry if plan.visual else vision_model(None))
    jobs = []
    for task, sample in items:
        for route in route_list:
            engine = plan.visual if route == "visual" else text_engine
            model = engine.spec.name if engine else ("" if plan.ocr_pages == "answers" else "ocr of every page")
            key = item_key(task.name, sample_key(sample), route, None if route == "text" else th, model)
            jobs.append((task, sample, route, engine, key))
    todo = [j for j in jobs if j[4] not in log.done]
    summary = Summary(len(jobs), len(jobs) - len(todo), 0, 0, plan.out, skipped)
    limit = asyncio.Semaphore(plan.concurrency)

    async def one(task: Task, sample: Sample, route: str, engine: routes.Engine | None, key: tuple) -> None:
        async with limit:
            result = await _item(plan, tools, task, sample, route, engine, key)
        log.write(result)
        if result.error is None:
            summary.answered += 1
        else:
            summary.failed += 1
        if on_item:
            on_item(summary.done_before + summary.answered + summary.failed, summary.total, result)

    try:
        await asyncio.gather(*(one(*j) for j in todo))
    finally:
        log.close()
        tools.answers.close()
    return summary


async def _item(plan: Plan, tools: routes.Tools, task: Task, sample: Sample, route: str,
                engine: routes.Engine | None, key: tuple) -> Result:
    base = Result(task.name, task.family, key[1], sample.bin, sample.length, route, key[4],
                  engine.where if engine else "rapidocr", None, None, None, references=list(sample.references),
                  info=dict(sample.info))
    base.info.pop("needles", None)  # spans are for reading; depths stay
    if route != "text":
        base.theta, base.theta_hash, base.theta_name = plan.theta.to_dict(), key[3], plan.theta_name
    attempt = 0
    while True:
        try:
            out = await _route(plan, tools, sample, route, engine, task)
            break
        except GlyphpressError as e:
            attempt += 1
            if attempt > plan.retries or not _transient(e):
                base.error = str(e)
                base.time = _now()
                return base
            await asyncio.sleep(min(30.0, 2.0 ** attempt * (1 + random.random() / 10)))
    base.prediction = out.prediction
    base.score = float(task.score(sample, out.prediction))
    if out.theta is not None and out.theta != plan.theta:  # budget fitting chose a denser θ; the item stays the
        base.info["fitted_theta"] = out.theta.to_dict()  # asked θ's (its key, its report row)
        base.info["fitted_theta_hash"] = theta_hash(out.theta)
    for name in ("text_tokens", "context_tokens", "vision_tokens", "pages", "prompt_tokens", "completion_tokens",
                 "latency_s", "first_token_s", "cached"):
        setattr(base, name, getattr(out, name))
    base.ratio = out.ratio
    base.info.update(out.info)
    base.time = _now()
    return base


async def _route(plan: Plan, tools: routes.Tools, sample: Sample, route: str, engine: routes.Engine | None,
                 task: Task) -> routes.Outcome:
    if route == "visual":
        return await routes.visual(sample, plan.theta, engine, tools)
    if route == "text":
        return await routes.text(sample, engine, tools)
    answers_only = engine is None and plan.ocr_pages == "answers"
    return await routes.ocr(sample, plan.theta, engine, tools, answers_only)


def _transient(e: GlyphpressError) -> bool:
    """Engine trouble worth another try (a lost connection, a timeout), not a request the engine refused."""
    from ..vlm.openai import BackendError, ContextOverflow

    return isinstance(e, BackendError) and not isinstance(e, ContextOverflow) and "HTTP 4" not in str(e)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
