"""What a benchmark task is: where its samples come from, how its prompt is laid out, how it is scored.

A task family lives in one file (``ruler.py``, ``longbench.py``, ``mrcr.py``, ``transcription.py``) that
builds ``Task`` objects and calls ``register``. A sample's prompt is three pieces: ``before`` (instruction
text), ``context`` (the long part: the only piece rendered on the visual route) and ``after`` (the question
and any answer prefix); the text route sends the three joined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import GlyphpressError


@dataclass
class Sample:
    task: str
    id: str  # unique within the task (length and index for generated tasks, the dataset's id for loaded ones)
    context: str
    before: str
    after: str
    references: list[str]
    max_tokens: int = 128  # the generation budget
    bin: str = ""  # the length bin a report groups it in ("4K", "0-4k", "short" ...)
    length: int | None = None  # the target length in tokens (generated tasks) or the measured one
    extra: dict = field(default_factory=dict)  # metric keywords: all_classes, random_string_to_prepend
    info: dict = field(default_factory=dict)  # kept with each result: needle depths and spans, groups ...

    def prompt(self) -> str:
        """The whole prompt as text (the text route)."""
        return self.before + self.context + self.after


@dataclass
class Options:
    """What a user may hand to a task's sample builder or loader."""

    data: Path | None = None  # local files of a loaded benchmark (a folder or a file)
    haystack: str | None = None  # RULER: "essay", "noise", "needle" or a path to text files
    tokenizer: str | None = None  # the tokenizer that sizes generated prompts (glyphpress's text tokenizers)
    depth: float | None = None  # RULER: the needle depth in percent (default: drawn from 40 even depths)


@dataclass
class Task:
    name: str
    family: str  # ruler, longbench, longbench-e, longbench-v2, mrcr, transcription
    source: str  # one line: where the samples come from
    build: Callable[[Task, int, int | None, int, Options], list[Sample]]  # (task, n, length, seed, options)
    scorer: Callable[[Sample, str], float]
    missing: Callable[[Options], str | None] = lambda options: None  # why the data is absent, and how to get it
    retrieval: bool = False  # the answers are in the context verbatim: a transcript can be scored by itself
    generated: bool = False  # samples are generated to a target length (else loaded, lengths measured)

    def samples(self, n: int, length: int | None = None, seed: int = 0, options: Options | None = None) -> list[Sample]:
        options = options or Options()
        why = self.missing(options)
        if why:
            raise GlyphpressError(f"{self.name}: {why}")
        if self.generated and not length:
            raise GlyphpressError(f"{self.name}: a generated task needs a target length (for example 4k)")
        return self.build(self, n, length, seed, options)

    def score(self, sample: Sample, prediction: str) -> float:
        return self.scorer(sample, prediction)


_TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    if task.name in _TASKS:
        raise ValueError(f"task {task.name!r} is registered twice")
    _TASKS[task.name] = task
    return task


def _load_families() -> None:
    from . import longbench, mrcr, ruler, transcription  # noqa: F401  (each registers its tasks)


def tasks() -> list[Task]:
    _load_families()
    return list(_TASKS.values())


def get(name: str) -> Task:
    _load_families()
    if name not in _TASKS:
        raise GlyphpressError(f"unknown task {name!r}; `glyphpress bench list` shows them")
    return _TASKS[name]


def select(names: list[str], options: Options | None = None, skipped: list | None = None) -> list[Task]:
    """Tasks by name, or by family name ("ruler" is all 13 RULER tasks). With ``options``, a family's tasks whose
    data is absent are left out and listed in ``skipped`` as (task, why); a task named alone is never left out
    (its sample builder says what is missing)."""
    _load_families()
    out: list[Task] = []
    for name in names:
        family = [t for t in _TASKS.values() if t.family == name]
        for t in family or [get(name)]:
            why = t.missing(options) if family and options is not None else None
            if why:
                if skipped is not None and t.name not in [s[0] for s in skipped]:
                    skipped.append((t.name, why))
            elif t not in out:
                out.append(t)
    if not out and skipped:
        raise GlyphpressError(f"no data here for any task asked for; {skipped[0][0]}: {skipped[0][1]}")
    return out


def parse_length(text: str) -> int:
    """'4k' -> 4096, '128K' -> 131072, '1m' -> 1048576, '3000' -> 3000."""
    t = text.strip().lower()
    try:
        if t.endswith("k"):
            n = int(float(t[:-1]) * 1024)
        elif t.endswith("m"):
            n = int(float(t[:-1]) * 1024 * 1024)
        else:
            n = int(t)
    except (ValueError, OverflowError):
        n = 0
    if not 0 < n <= 16 * 1024 * 1024:
        raise GlyphpressError(f"not a length: {text!r} (write 4k, 32k, 128k, 1m or a number of tokens)")
    return n


def length_label(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)}M"
    return f"{n // 1024}K" if n % 1024 == 0 else str(n)
