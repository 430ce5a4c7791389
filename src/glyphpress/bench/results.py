"""The results of a run: one JSON line per answered item in ``DIR/results.jsonl``, appended and flushed to
disk as each item finishes (a run killed at any moment keeps every line already written; a torn last line
is ignored on reading), and ``DIR/run.json``, what the run was asked to do.

An item's key is (task, sample, route, θ hash, model): a re-run skips the keys already present without
an error. Fields of a line (``Result``):

- ``task``, ``family``, ``sample``, ``bin`` (length bin), ``length`` (target or measured tokens), ``route``
  (visual, text or ocr), ``model`` (``""`` for the ocr route without an LLM), ``engine``
- ``theta`` (the θ as a dict), ``theta_hash``, ``theta_name`` (the preset or file it came from)
- ``prediction``, ``references``, ``score`` (in [0, 1]; reports show it x100), ``error`` (then no score)
- ``text_tokens`` (the whole prompt as text, by glyphpress's tokenizer), ``context_tokens``, ``vision_tokens``,
  ``ratio`` (context text tokens per vision token), ``pages`` (all three null on the text route)
- ``prompt_tokens`` and ``completion_tokens`` as the engine reported them, ``latency_s``, ``first_token_s``,
  ``cached`` (the answer came from the answer cache), ``info`` (needle depths, OCR protocol ...), ``time``
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import GlyphpressError

RESULTS = "results.jsonl"
RUN = "run.json"


@dataclass
class Result:
    task: str
    family: str
    sample: str
    bin: str
    length: int | None
    route: str
    model: str
    engine: str
    theta: dict | None
    theta_hash: str | None
    theta_name: str | None
    prediction: str = ""
    references: list[str] = field(default_factory=list)
    score: float | None = None
    error: str | None = None
    text_tokens: int | None = None
    context_tokens: int | None = None
    vision_tokens: int | None = None
    ratio: float | None = None
    pages: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    first_token_s: float | None = None
    cached: bool = False
    info: dict = field(default_factory=dict)
    time: str = ""

    @property
    def key(self) -> tuple:
        return item_key(self.task, self.sample, self.route, self.theta_hash, self.model)


def item_key(task: str, sample: str, route: str, theta_hash: str | None, model: str) -> tuple:
    return (task, sample, route, theta_hash or "", model)


def load(folder: str | Path) -> list[Result]:
    """Every complete line of a run folder's results (a torn last line, from a killed run, is skipped)."""
    path = Path(folder) / RESULTS
    if not path.is_file():
        raise GlyphpressError(f"{folder}: no {RESULTS} here; is it a folder written by `glyphpress bench run`?")
    out = []
    names = set(Result.__dataclass_fields__)
    with open(path, encoding="utf-8", errors="replace") as f:  # a kill can cut a character in two
        for line in f:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line cut by a kill
            if _well_formed(row):
                out.append(Result(**{k: v for k, v in row.items() if k in names}))
    return out


def _well_formed(row) -> bool:
    """A line this module wrote: the key fields are strings, the score a number or null (anything else, such
    as a line edited by hand or cut by a kill, is skipped)."""
    if not isinstance(row, dict):
        return False
    if not all(isinstance(row.get(k), str) for k in ("task", "family", "sample", "bin", "route", "model", "engine")):
        return False
    if not isinstance(row.get("theta_hash"), (str, type(None))):
        return False
    score = row.get("score")
    return score is None or (isinstance(score, (int, float)) and not isinstance(score, bool))


class Log:
    """Appends results to a run folder; knows which items are done (answered without an error)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise GlyphpressError(f"{self.folder}: exists and is not a folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / RESULTS
        self.done: set[tuple] = set()
        if self.path.is_file():
            self._repair()
            self.done = {r.key for r in load(self.folder) if r.error is None}
        self._file = open(self.path, "a", encoding="utf-8")

    def _repair(self) -> None:
        """A kill in the middle of a write leaves a last line without its newline: end it, so the next line
        starts clean (the torn line is skipped on reading)."""
        with open(self.path, "rb+") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() and (f.seek(-1, os.SEEK_END), f.read(1))[1] != b"\n":
                f.write(b"\n")

    def write(self, result: Result) -> None:
        self._file.write(json.dumps(asdict(result), ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        if result.error is None:
            self.done.add(result.key)

    def close(self) -> None:
        self._file.close()

    def write_run(self, run: dict) -> None:
        """``run.json``: what was asked (tasks, routes, lengths, θ, models), written atomically."""
        tmp = self.folder / (RUN + ".tmp")
        tmp.write_text(json.dumps(run, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.folder / RUN)
