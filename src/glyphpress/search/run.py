"""The genetic search over a space of θ: a population per generation, elitism, the guiding LLM's proposals
(proposer.py; they can be parents like any other), tournament selection, crossover and mutation (space.py's
operators, so every candidate is valid), evaluations in parallel across cores, seeded and reproducible
(but for the LLM's answers). Optuna's journal is the ledger: every evaluation is a trial (its θ, origin,
generation and measurements as attributes), written before and after it runs, so a search killed at any
moment, even with kill -9, resumes losing at most what was in flight, and its history opens in Optuna's own
tools. Outputs in the run's folder: the best θ (``best.json``, a config ``glyphpress render -c`` loads), the
Pareto front of (ρ, quality) as configs, the history as JSON lines, and the journal."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import GlyphpressError
from .fitness import Evaluation, objective, pareto
from .proposer import Proposer
from .space import Space

STUDY = "glyphpress-search"


@dataclass
class Settings:
    population: int = 12
    generations: int = 5
    elite: int = 2
    tournament: int = 3
    crossover: float = 0.7  # chance a child has two parents
    mutation: float = 0.3  # chance each key of a child changes
    seed: int = 0
    floor: float | None = None  # quality a candidate must keep (objective)
    weight: float | None = None
    workers: int = 1


@dataclass
class Candidate:
    theta: dict[str, Any]
    origin: str  # "random", "elite", "llm" (proposed by the guiding LLM), "child"
    generation: int
    evaluation: Evaluation | None = None
    score: float | None = None
    cached: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return theta_hash(self.theta)


def theta_hash(theta: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(theta, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Ledger:
    """The Optuna journal of a run: trials keyed by θ hash and the fitness's own key."""

    def __init__(self, path: Path, fitness_key: str):
        try:
            import optuna
            from optuna.storages import JournalStorage
            from optuna.storages.journal import JournalFileBackend
        except ImportError:
            raise GlyphpressError("the search keeps its ledger with Optuna: pip install 'glyphpress[search]'") from None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna = optuna
        self.storage = JournalStorage(JournalFileBackend(str(path)))
        self.study = optuna.create_study(study_name=STUDY, storage=self.storage, direction="maximize",
                                         load_if_exists=True)
        self.fitness_key = fitness_key
        self.study_id = self.storage.get_study_id_from_name(STUDY)
        for t in self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            self.study.tell(t.number, state=optuna.trial.TrialState.FAIL)  # in flight when the run stopped

    def done(self) -> dict[str, dict[str, Any]]:
        """Finished evaluations of this fitness, by θ hash: their attributes."""
        out = {}
        for t in self.study.get_trials(deepcopy=False, states=(self.optuna.trial.TrialState.COMPLETE,)):
            if t.user_attrs.get("fitness") == self.fitness_key:
                out[t.user_attrs["key"]] = dict(t.user_attrs) | {"score": t.value}
        return out

    def start(self, c: Candidate) -> int:
        trial = self.study.ask()
        for k, v in (("key", c.key), ("theta", c.theta), ("origin", c.origin), ("generation", c.generation),
                     ("fitness", self.fitness_key)):
            trial.set_user_attr(k, v)
        return trial.number

    def finish(self, number: int, c: Candidate) -> None:
        trial_id = self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)
        e = c.evaluation
        for k, v in (("rho", e.rho), ("quality", e.quality), ("pages", e.pages), ("text_tokens", e.text_tokens),
                     ("vision_tokens", e.vision_tokens), ("info", e.info)):
            self.storage.set_trial_user_attr(trial_id, k, v)
        self.study.tell(number, c.score)


def _evaluate(fitness: Callable, space: Space, theta: dict[str, Any]) -> Evaluation:
    return fitness(space.config(theta))


class Search:
    """A run of the genetic search (see the module's docstring)."""

    def __init__(self, space: Space, fitness: Callable, fitness_key: str, out: str | Path,
                 settings: Settings | None = None, progress: Callable[[int, list[Candidate]], None] | None = None,
                 proposer: Proposer | None = None):
        self.space, self.fitness, self.settings = space, fitness, settings or Settings()
        self.proposer = proposer
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.ledger = Ledger(self.out / "journal.log", fitness_key)
        self.progress = progress
        self.evaluated = 0  # evaluations run by this process (cache hits excluded)

    # ---- generations ---------------------------------------------------------------------------------------------
    def first(self) -> list[Candidate]:
        rng = random.Random(f"{self.settings.seed}/0")
        out: list[Candidate] = []
        seen: set[str] = set()
        for _ in range(self.settings.population * 20):
            if len(out) >= self.settings.population:
                break
            c = Candidate(self.space.sample(rng), "random", 0)
            if c.key not in seen:
                seen.add(c.key)
                out.append(c)
        return out

    def next(self, ranked: list[Candidate], generation: int, everyone: list[Candidate] | None = None
             ) -> list[Candidate]:
        """The next generation: the elite, the LLM's proposals (where there is a proposer), then children."""
        s = self.settings
        rng = random.Random(f"{s.seed}/{generation}")
        out = [Candidate(c.theta, "elite", generation) for c in ranked[: s.elite]]
        seen = {c.key for c in out}
        if self.proposer is not None:
            for theta in self.propose(everyone or ranked, generation):
                c = Candidate(theta, "llm", generation)
                if c.key not in seen and len(out) < s.population:
                    seen.add(c.key)
                    out.append(c)
        for _ in range(s.population * 20):
            if len(out) >= s.population:
                break
            a = self.tournament(ranked, rng)
            theta = self.space.crossover(a.theta, self.tournament(ranked, rng).theta, rng) \
                if rng.random() < s.crossover else dict(a.theta)
            theta = self.space.mutate(theta, rng, rate=s.mutation)
            c = Candidate(theta, "child", generation)
            if c.key not in seen:
                seen.add(c.key)
                out.append(c)
        return out

    def propose(self, everyone: list[Candidate], generation: int) -> list[dict[str, Any]]:
        """The proposer's candidates for a generation, its analysis and any error written to llm.jsonl."""
        history = [{"theta": c.theta, "score": c.score, **asdict(c.evaluation)} for c in everyone]
        p = self.proposer.propose(self.space, history)
        with open(self.out / "llm.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps({"generation": generation, "analysis": p.analysis, "error": p.error,
                                "candidates": p.candidates}, ensure_ascii=False) + "\n")
        return p.candidates

    def tournament(self, ranked: list[Candidate], rng: random.Random) -> Candidate:
        picks = rng.sample(ranked, min(self.settings.tournament, len(ranked)))
        return max(picks, key=lambda c: c.score if c.score is not None else float("-inf"))

    # ---- evaluation ----------------------------------------------------------------------------------------------
    def evaluate(self, generation: list[Candidate]) -> list[Candidate]:
        done = self.ledger.done()
        todo = []
        for c in generation:
            if c.key in done:
                a = done[c.key]
                c.evaluation = Evaluation(a["rho"], a["quality"], a["pages"], a["text_tokens"], a["vision_tokens"],
                                          a.get("info", {}))
                c.score, c.cached = a["score"], True
                self.record(c)
            else:
                todo.append(c)
        numbers = {id(c): self.ledger.start(c) for c in todo}
        if self.settings.workers > 1 and len(todo) > 1:
            with ProcessPoolExecutor(self.settings.workers) as pool:
                results = list(pool.map(_evaluate, [self.fitness] * len(todo), [self.space] * len(todo),
                                        [c.theta for c in todo]))
        else:
            results = [_evaluate(self.fitness, self.space, c.theta) for c in todo]
        for c, e in zip(todo, results):
            c.evaluation = e
            c.score = objective(e, self.settings.floor, self.settings.weight)
            self.ledger.finish(numbers[id(c)], c)
            self.evaluated += 1
            self.record(c)
        return sorted(generation, key=lambda c: -c.score)

    def record(self, c: Candidate) -> None:
        line = {"generation": c.generation, "origin": c.origin, "key": c.key, "score": c.score, "cached": c.cached,
                **asdict(c.evaluation), "theta": c.theta}
        with open(self.out / "history.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")

    # ---- the run -------------------------------------------------------------------------------------------------
    def run(self) -> list[Candidate]:
        """All generations (those already in the ledger are not evaluated again); the candidates seen, best
        first."""
        seen: dict[str, Candidate] = {}
        generation = self.first()
        for g in range(self.settings.generations):
            start = time.perf_counter()
            ranked = self.evaluate(generation)
            for c in ranked:
                if c.key not in seen or (c.score or 0) > (seen[c.key].score or 0):
                    seen[c.key] = c
            everyone = sorted(seen.values(), key=lambda c: -c.score)
            if self.progress:
                self.progress(g, everyone)
            self.write(everyone, time.perf_counter() - start)
            if g + 1 < self.settings.generations:
                generation = self.next(ranked, g + 1, everyone)
        return sorted(seen.values(), key=lambda c: -c.score)

    def write(self, everyone: list[Candidate], seconds: float) -> None:
        """best.json and the Pareto front's configs, rewritten after every generation."""
        best = everyone[0]
        (self.out / "best.json").write_text(json.dumps(self.space.config(best.theta).to_dict(), indent=2) + "\n")
        front_dir = self.out / "pareto"
        front_dir.mkdir(exist_ok=True)
        for old in front_dir.glob("*.json"):
            old.unlink()
        rated = [c for c in everyone if c.evaluation.quality is not None]
        front = [rated[i] for i in pareto([(c.evaluation.rho, c.evaluation.quality) for c in rated])]
        for k, c in enumerate(sorted(front, key=lambda c: c.evaluation.rho)):
            (front_dir / f"{k:02d}-rho{c.evaluation.rho:.2f}-q{c.evaluation.quality:.3f}.json").write_text(
                json.dumps(self.space.config(c.theta).to_dict(), indent=2) + "\n")
