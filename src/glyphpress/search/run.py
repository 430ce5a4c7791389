"""The genetic search over a space of θ: a population per generation, elitism, the guiding LLM's proposals
(proposer.py; they can be parents like any other), tournament selection, crossover and mutation (space.py's
operators, so every candidate is valid), evaluations in parallel across cores, seeded and reproducible
(but for the LLM's answers). Optuna's journal is the ledger: every evaluation is a trial (its θ, origin,
generation and measurements as attributes), written before and after it runs, so a search killed at any
moment, even with kill -9, resumes losing at most what was in flight, and its history opens in Optuna's own
tools. Generation 0 holds the space's base θ (the preset a search starts from, as the space sees it) beside
samples of the priors; reference θ (the base itself, and any a user names, such as one knob changed) are
evaluated for comparison and are never parents. The quality floor may be the base θ's own quality
(``floor="base"``): then the search looks for a denser θ that reads as well. Where quality is measured, a
candidate whose ρ could not beat the best so far (in generation 0: the base θ) even at perfect quality
(``bound``) is screened out by counting alone, before its pages are drawn or read. Mutation changes one key in
the space's free keys on average (at least one), by small steps; a step that beat the θ it was taken from is
taken again from where it led (a stride; twice as far after a stride that paid off), so a direction found is
followed without waiting for mutation to pick the same key again. A generation never holds a θ an earlier one
held (but for its elite). A time limit stops the run before a generation that would end after it. Outputs in
the run's folder: the best θ (``best.json``, a config ``glyphpress render -c`` loads), the Pareto front of (ρ,
quality) as configs, the history as JSON lines, a line per generation (``generations.jsonl``), the journal, and
the report (report.py)."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import GlyphpressError
from .fitness import Evaluation, bound, objective, pareto
from .proposer import Proposer
from .space import Space, step

STUDY = "glyphpress-search"


@dataclass
class Settings:
    population: int = 12
    generations: int = 5
    elite: int = 2
    tournament: int = 3
    crossover: float = 0.5  # chance a child has two parents (else it is a mutant of one)
    bias: float = 0.7  # a child of two takes each key from the better parent with this chance
    mutation: float | None = None  # chance each key of a child changes (None: 1 / the free keys; at least one)
    seed: int = 0
    floor: float | str | None = None  # quality a candidate must keep (objective); "base": the base θ's quality
    weight: float | None = None
    workers: int = 1
    screen: bool = True  # children that could not beat the elite even at perfect quality are not evaluated
    minutes: float | None = None  # no generation is started that would end after this many minutes of generations


@dataclass
class Candidate:
    theta: dict[str, Any]
    origin: str  # "base", "mutant" (of the base), "random", "elite", "llm" (the guiding LLM's), "child", "stride"
    # (a step that paid off, taken again); "reference"
    generation: int
    label: str | None = None  # a reference's name
    step: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # what its mutation (or stride) changed
    before: float | None = None  # the score of the θ that step was taken from, where it was evaluated
    strides: int = 0  # strides in a row that led here
    evaluation: Evaluation | None = None
    score: float | None = None
    cached: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return theta_hash(self.theta)


def theta_hash(theta: dict[str, Any]) -> str:
    """The key of a θ in the ledger: 9 and 9.0 are one value, so one θ is never evaluated twice."""
    plain = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in theta.items()}
    return hashlib.sha256(json.dumps(plain, sort_keys=True, default=str).encode()).hexdigest()[:16]


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


def _evaluate(fitness: Callable, space: Space, theta: dict[str, Any], floor: float | None = None) -> Evaluation:
    """``fitness`` of θ, timed; a fitness that can stop reading once a candidate is under the quality floor
    (``stops_early``) is given the floor."""
    start = time.perf_counter()
    cfg = space.config(theta)
    e = fitness(cfg, floor=floor) if floor is not None and getattr(fitness, "stops_early", False) else fitness(cfg)
    e.info["seconds"] = round(time.perf_counter() - start, 3)
    return e


class Search:
    """A run of the genetic search (see the module's docstring)."""

    def __init__(self, space: Space, fitness: Callable, fitness_key: str, out: str | Path,
                 settings: Settings | None = None, progress: Callable[[int, list[Candidate]], None] | None = None,
                 proposer: Proposer | None = None, references: dict[str, dict[str, Any]] | None = None,
                 after_generation: Callable[[Search], None] | None = None, about: dict[str, Any] | None = None):
        self.space, self.fitness, self.settings = space, fitness, settings or Settings()
        self.references = {"base": {}} | dict(references or {})  # name -> keys over the base θ
        self.after_generation = after_generation
        self.floor: float | None = None if isinstance(self.settings.floor, str) else self.settings.floor
        self.made: dict[int, tuple[int, int]] = {}  # per generation: candidates screened out by ρ, and how many
        # of them were put back because too few others came to fill it
        self._rho: dict[str, float] = {}
        self.known: set[str] = set()  # θ the generations so far held (references aside)
        self.proposer = proposer
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.ledger = Ledger(self.out / "journal.log", fitness_key)
        # run.json: what a report says of the run (``about`` adds the model, the corpus ... as the caller knows)
        (self.out / "run.json").write_text(json.dumps({
            "fitness": fitness_key, "space": space.to_dict(), "references": self.references,
            "settings": asdict(self.settings)} | dict(about or {}), indent=2, ensure_ascii=False, default=str) + "\n")
        self.progress = progress
        self.evaluated = 0  # evaluations run by this process (cache hits excluded)
        self.reference: list[Candidate] = []  # the references, evaluated
        self.stopped: str | None = None  # why the run ended before its last generation

    # ---- generations ---------------------------------------------------------------------------------------------
    def base_theta(self) -> dict[str, Any]:
        """The base θ as the space sees it: its value of every key, repaired into the space."""
        return self.space.repair(self.space.project(self.space.base_config().to_dict()))

    def reference_candidates(self) -> list[Candidate]:
        base = self.space.project(self.space.base_config().to_dict())
        return [Candidate(base | keys, "reference", -1, label=name) for name, keys in self.references.items()]

    def first(self) -> list[Candidate]:
        """Generation 0: the base θ, mutants of it (half the population: the base is a known good start) and
        draws from the space's priors, screened against the base's score."""
        rng = random.Random(f"{self.settings.seed}/0")
        start = self.base_theta()
        out: list[Candidate] = [Candidate(start, "base", 0)]
        base = next((c.score for c in self.reference if c.label == "base"), None)
        made = [0]

        def draw() -> Candidate:
            made[0] += 1
            if made[0] % 2:
                return self.mutant(start, "mutant", 0, rng, base)
            return Candidate(self.space.sample(rng), "random", 0)

        return self.fill(out, draw, base, 0)

    def next(self, ranked: list[Candidate], generation: int, everyone: list[Candidate] | None = None
             ) -> list[Candidate]:
        """The next generation: the elite, the LLM's proposals (where there is a proposer), strides (each step
        that paid off in the generation before, taken again: up to half the places left), then children."""
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
        bar = ranked[0].score if ranked else None
        room = len(out) + (s.population - len(out) + 1) // 2
        for c in self.strides(ranked, generation, bar):
            if len(out) >= room:
                break
            if c.key not in seen:
                seen.add(c.key)
                out.append(c)

        def child() -> Candidate:
            a = self.tournament(ranked, rng)
            if rng.random() < s.crossover:
                b = self.tournament(ranked, rng)
                better, worse = (a, b) if (a.score or 0) >= (b.score or 0) else (b, a)
                theta = self.space.crossover(better.theta, worse.theta, rng, s.bias)
            else:
                better, theta = a, dict(a.theta)
            return self.mutant(theta, "child", generation, rng, better.score)

        return self.fill(out, child, bar, generation)

    def mutant(self, theta: dict[str, Any], origin: str, generation: int, rng: random.Random,
               before: float | None) -> Candidate:
        """θ mutated, with the step the mutation took and the score of the parent it is measured against."""
        new = self.space.mutate(theta, rng, rate=self.mutation_rate())
        return Candidate(new, origin, generation, step=step(theta, new), before=before)

    def strides(self, ranked: list[Candidate], generation: int, bar: float | None) -> Iterator[Candidate]:
        """For each candidate of the generation before whose step beat the θ it was taken from (best first):
        the same step taken again from it (twice as far where it was a stride itself that paid off), where that
        is a new θ that could beat ``bar`` (the best so far) at perfect quality. A search that found the way
        to go keeps going that way instead of waiting for mutation to pick the same key again. Made one at a
        time, so no ρ is counted for a stride there is no place for."""
        screening = bar is not None and self.rated_screen()
        for c in ranked:
            if not c.step or c.before is None or c.score is None or c.score <= c.before:
                continue
            theta = self.space.stride(c.theta, c.step, 2 if c.strides else 1)
            new = Candidate(theta, "stride", generation, step=step(c.theta, theta), before=c.score,
                            strides=c.strides + 1)
            if new.step and new.key not in self.known and not (screening and self.top(new) <= bar):
                yield new

    def rated_screen(self) -> bool:
        """Whether candidates are screened by their ρ before they are evaluated (see ``fill``)."""
        return self.settings.screen and getattr(self.fitness, "rated", False) and hasattr(self.fitness, "rho")

    def top(self, c: Candidate) -> float:
        """The highest score ``c`` could get (its ρ counted, at perfect quality): what screening compares."""
        return bound(self.rho(c), self.floor, self.settings.weight)

    def fill(self, out: list[Candidate], make: Callable[[], Candidate], bar: float | None, generation: int
             ) -> list[Candidate]:
        """``out`` filled up to the population with new candidates from ``make``. Where quality is measured and
        screening is on, a candidate whose score could not beat ``bar`` (the best so far) even at perfect quality
        (its ρ counted, nothing drawn) is screened out: it could never be the answer; the generation is still
        filled, with the best of those, when too few others come. A θ an earlier generation already holds is
        not made again (its place goes to a new one)."""
        s = self.settings
        seen = {c.key for c in out}
        screening = bar is not None and self.rated_screen()
        screened: list[tuple[float, Candidate]] = []
        for _ in range(s.population * 40):
            if len(out) >= s.population:
                break
            c = make()
            if c.key in seen or c.key in self.known:
                continue
            seen.add(c.key)
            if screening:
                top = self.top(c)
                if top <= bar:
                    screened.append((top, c))
                    continue
            out.append(c)
        screened.sort(key=lambda x: -x[0])
        refill = [c for _, c in screened[: s.population - len(out)]]
        self.made[generation] = (len(screened), len(refill))
        return out + refill

    def mutation_rate(self) -> float:
        """The chance each key of a child changes: the setting, else one key in the space's free keys."""
        if self.settings.mutation is not None:
            return self.settings.mutation
        return 1 / max(1, sum(p.kind != "fixed" for p in self.space.params.values()))

    def rho(self, c: Candidate) -> float:
        if c.key not in self._rho:
            self._rho[c.key] = self.fitness.rho(self.space.config(c.theta))
        return self._rho[c.key]

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
                c.score, c.cached = objective(c.evaluation, self.floor, self.settings.weight), True
                self.record(c)
            else:
                todo.append(c)
        numbers = {id(c): self.ledger.start(c) for c in todo}
        floor = self.floor if self.settings.weight is None else None  # where the objective has a floor
        if self.settings.workers > 1 and len(todo) > 1:
            with ProcessPoolExecutor(self.settings.workers) as pool:
                results = list(pool.map(_evaluate, [self.fitness] * len(todo), [self.space] * len(todo),
                                        [c.theta for c in todo], [floor] * len(todo)))
        else:
            results = [_evaluate(self.fitness, self.space, c.theta, floor) for c in todo]
        for c, e in zip(todo, results):
            c.evaluation = e
            c.score = objective(e, self.floor, self.settings.weight)
            self.ledger.finish(numbers[id(c)], c)
            self.evaluated += 1
            self.record(c)
        return sorted(generation, key=lambda c: -c.score)

    def record(self, c: Candidate) -> None:
        if c.origin != "reference":
            self.known.add(c.key)
        line = {"generation": c.generation, "origin": c.origin, "key": c.key, "score": c.score, "cached": c.cached,
                **asdict(c.evaluation), "theta": c.theta}
        if c.label:
            line["label"] = c.label
        with open(self.out / "history.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")

    # ---- the run -------------------------------------------------------------------------------------------------
    def run(self) -> list[Candidate]:
        """All generations (those already in the ledger are not evaluated again); the candidates seen, best
        first."""
        seen: dict[str, Candidate] = {}
        start = time.perf_counter()
        self.evaluated = 0
        self.reference = self.evaluate(self.reference_candidates())
        base = next(c for c in self.reference if c.label == "base")
        if self.settings.floor == "base":
            if base.evaluation.quality is None:
                raise GlyphpressError("a floor at the base θ's quality needs a fitness that measures quality")
            self.floor = base.evaluation.quality
            for c in self.reference:  # scored again under the floor, and said again (the history's last word)
                c.score = objective(c.evaluation, self.floor, self.settings.weight)
                c.cached = True
                self.record(c)
        self.log_generation(-1, len(self.reference), start)
        run_start, last = time.perf_counter(), 0.0  # the time limit counts the generations, not the references
        generation = self.first()
        for g in range(self.settings.generations):
            limit = self.settings.minutes
            if limit is not None and g > 0 and time.perf_counter() - run_start + last > limit * 60:
                self.stopped = f"time limit: generation {g + 1} would end after {limit:g} minutes"
                break
            start, before = time.perf_counter(), self.evaluated
            ranked = self.evaluate(generation)
            for c in ranked:
                if c.key not in seen or (c.score or 0) > (seen[c.key].score or 0):
                    seen[c.key] = c
            everyone = sorted(seen.values(), key=lambda c: -c.score)
            self.log_generation(g, len(generation), start, ranked, everyone, before)
            if self.progress:
                self.progress(g, everyone)
            self.write(everyone)
            if self.after_generation:
                self.after_generation(self)
            if g + 1 < self.settings.generations:
                generation = self.next(ranked, g + 1, everyone)
            last = time.perf_counter() - start  # the whole generation: evaluated, written, the next one made
        return sorted(seen.values(), key=lambda c: -c.score)

    def log_generation(self, g: int, size: int, start: float, ranked: list[Candidate] | None = None,
                       everyone: list[Candidate] | None = None, before: int = 0) -> None:
        """A line of ``generations.jsonl``: the generation (-1: the references), its size, evaluations run,
        candidates screened out (and how many of them were put back to fill it), its best and the best so far,
        the wall time (a resumed generation's line, written again, has the time of the resumed one)."""
        line: dict[str, Any] = {"generation": g, "candidates": size, "evaluated": self.evaluated - before,
                                "screened": self.made.get(g, (0, 0))[0], "refilled": self.made.get(g, (0, 0))[1],
                                "floor": self.floor,
                                "wall_s": round(time.perf_counter() - start, 3)}
        if ranked:
            line["best"] = ranked[0].score
            line["best_so_far"] = everyone[0].score
            line["best_key"] = everyone[0].key
        with open(self.out / "generations.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")

    def write(self, everyone: list[Candidate]) -> None:
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
