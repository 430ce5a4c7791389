"""Building a training set: a spec (kind, corpus or question-answer source, tasks and their mixture, samples,
seed) made into shards over all local cores, or on a Ray cluster. Record ``i`` is made from ``seed`` and
``i`` alone (its task, document, passage and θ are drawn from a generator seeded with both), and shard ``k``
holds records ``k * shard_size`` up to the next shard's, so any worker anywhere makes exactly the same
records, a finished shard is never made again, and a killed build resumes where it stopped."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import GlyphpressError
from . import shards
from .corpus import Doc, json_lines, read_corpus
from .tasks import PRETRAIN, Record, ocr_of, pretrain, qa

KINDS = ("pretrain", "sft", "rl")


@dataclass
class Spec:
    kind: str  # pretrain, sft or rl
    corpus: list[str] = field(default_factory=list)  # texts (pretrain; RULER's haystack for bench sources)
    source: str | None = None  # sft/rl: bench:TASK or a JSON lines file of context, question, answer
    tasks: dict[str, float] = field(default_factory=lambda: {"ocr": 0.4, "interleaved": 0.2, "next-page": 0.2,
                                                             "masked": 0.2})
    samples: int = 100
    seed: int = 0
    shard_size: int = 50
    model: str = "qwen2.5-vl"  # the VLM whose vision tokens records count
    config: str | None = None  # sft/rl: the fixed θ (a preset or a config file, e.g. a search's best.json)
    ocr_rate: float = 0.1  # sft: auxiliary OCR items among the records
    length: str = "4k"  # bench sources: the samples' target length (generated tasks)
    data: str | None = None  # bench sources: local files of a loaded benchmark
    fonts: list[str] = field(default_factory=list)  # pretrain: font files added to the style pool

    def check(self) -> None:
        import math

        types = {"kind": str, "corpus": list, "samples": int, "seed": int, "shard_size": int, "model": str,
                 "ocr_rate": (int, float), "length": str, "fonts": list, "tasks": dict}
        for name, kind in types.items():
            value = getattr(self, name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise GlyphpressError(f"spec field {name}: expected {getattr(kind, '__name__', 'a number')}, "
                                      f"got {value!r}")
        if any(not isinstance(c, str) for c in self.corpus + self.fonts):
            raise GlyphpressError("spec fields corpus and fonts are lists of paths")
        if any(not isinstance(w, (int, float)) or not math.isfinite(w) for w in self.tasks.values()):
            raise GlyphpressError("--tasks: every weight is a finite number")
        if self.kind not in KINDS:
            raise GlyphpressError(f"--kind is {', '.join(KINDS)}, not {self.kind!r}")
        if self.samples < 1 or self.shard_size < 1:
            raise GlyphpressError("--samples and --shard-size must be at least 1")
        if self.kind == "pretrain":
            unknown = set(self.tasks) - set(PRETRAIN)
            if unknown or not self.tasks or any(w < 0 for w in self.tasks.values()) or sum(self.tasks.values()) <= 0:
                raise GlyphpressError(f"--tasks: weights of {', '.join(PRETRAIN)} (for example ocr=0.5,masked=0.5)"
                                      + (f"; unknown: {', '.join(sorted(unknown))}" if unknown else ""))
            if not self.corpus:
                raise GlyphpressError("pretrain data needs --corpus")
        elif not self.source:
            raise GlyphpressError(f"{self.kind} data needs --source: bench:TASK or a JSON lines file of context, "
                                  "question and answer")
        if not 0 <= self.ocr_rate <= 1:
            raise GlyphpressError("--ocr-rate is between 0 and 1")

    @classmethod
    def load(cls, path: str | Path) -> Spec:
        """A spec file: JSON (or YAML) with the same fields as the command's options."""
        return cls(**read_fields(path, cls, "spec"))


def read_fields(path: str | Path, cls, what: str) -> dict[str, Any]:
    """A JSON (or YAML) file of some of dataclass ``cls``'s fields (a spec, a recipe), or a one-line error."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise GlyphpressError(f"{path}: cannot read the {what} ({e.__class__.__name__})") from None
    try:
        if str(path).endswith((".yaml", ".yml")):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as e:  # noqa: BLE001 - any parse error (or no PyYAML) is the file's
        raise GlyphpressError(f"{path}: not a valid {what} ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise GlyphpressError(f"{path}: a {what} is an object of fields")
    unknown = set(data) - set(cls.__dataclass_fields__)
    if unknown:
        raise GlyphpressError(f"{path}: unknown field(s) {', '.join(sorted(unknown))}")
    return data


class Maker:
    """What one worker needs to make any record of a spec: the corpus or the samples, read once, and the
    style sampler; ``make(i)`` is record ``i`` (a pre-training task its passage cannot give on five styles
    drawn, such as a next page of a text that fits one page, gives way to a page transcription)."""

    def __init__(self, spec: Spec):
        spec.check()
        self.spec = spec
        self.docs: list[Doc] = []
        self.samples: list = []
        if spec.kind == "pretrain":
            from ..layout.fonts import resolve_font
            from .styles import Styles
            from .tasks import language

            for f in spec.fonts:
                resolve_font(f)  # a font that is not there is an error now, not at the record that draws it
            self.docs = read_corpus(spec.corpus)
            self.weights = [len(d.text) for d in self.docs]
            self.styles = Styles(tuple(spec.fonts), cjk=language("".join(d.text[:500] for d in self.docs[:20]))
                                 == "zh")
        else:
            from ..config import load_config

            self.samples = load_samples(spec)
            self.cfg = load_config(spec.config or "glyph-en")

    def count(self) -> int:
        return self.spec.samples if self.spec.kind == "pretrain" else min(self.spec.samples, len(self.samples))

    def make(self, i: int) -> Record:
        s = self.spec
        rng = random.Random(f"glyphpress-data/{s.seed}/{i}")
        rid = f"{s.kind}-{s.seed}-{i:08d}"
        if s.kind == "pretrain":
            task = rng.choices(list(s.tasks), weights=list(s.tasks.values()))[0]
            doc = rng.choices(self.docs, weights=self.weights)[0]
            for attempt in range(5):  # a passage too short for its task on these pages: another style
                cfg = self.styles.sample(f"{s.seed}/{i}/{attempt}")
                r = pretrain(task, doc.text, cfg, rng, rid, doc.name, s.model)
                if r is not None:
                    return r
            return pretrain("ocr", doc.text, cfg, rng, rid, doc.name, s.model)  # always possible
        sample = self.samples[i]
        if s.kind == "sft" and rng.random() < s.ocr_rate:
            base = qa(sample, self.cfg, rid, s.model)
            return ocr_of(base, sample.context, self.cfg, rng, rid, s.model)
        return qa(sample, self.cfg, rid, s.model, kind=s.kind)

    def shard(self, k: int) -> list[Record]:
        start = k * self.spec.shard_size
        return [self.make(i) for i in range(start, min(self.count(), start + self.spec.shard_size))]


def load_samples(spec: Spec) -> list:
    """Question-answer samples for SFT and RL: a bench task's (``bench:TASK``) or a JSON lines file's rows
    (``context``, ``question``, ``answer`` or ``answers``, optional ``instruction`` and ``metric``)."""
    from ..bench.task import Options, Sample, get, parse_length

    if spec.source.startswith("bench:"):
        task = get(spec.source[len("bench:"):])
        haystack = spec.corpus[0] if spec.corpus else None
        options = Options(data=Path(spec.data) if spec.data else None, haystack=haystack)
        samples = task.samples(spec.samples, parse_length(spec.length) if task.generated else None, spec.seed,
                               options)
        if samples:
            check_metric(samples[0], f"{spec.source}: metric")
        return samples
    path = Path(spec.source)
    if not path.is_file():
        raise GlyphpressError(f"{path}: no such file (--source is bench:TASK or a JSON lines file)")
    from .tasks import language

    out = []
    for n, row in json_lines(path):
        answers = row.get("answers", row.get("answer")) if isinstance(row, dict) else None
        answers = [answers] if isinstance(answers, (str, int, float)) and not isinstance(answers, bool) else answers
        if not (isinstance(row, dict) and isinstance(row.get("context"), str) and row["context"].strip()
                and isinstance(row.get("question"), str) and isinstance(answers, list) and answers
                and all(isinstance(a, (str, int, float)) for a in answers)
                and isinstance(row.get("instruction") or "", str) and isinstance(row.get("metric") or "", str)):
            raise GlyphpressError(f"{path}: line {n} needs a context (text), a question (text) and an answer "
                                  "(text or a list of texts); instruction and metric are texts")
        metric = row.get("metric") or ("multifieldqa_zh" if language(row["context"]) == "zh" else "hotpotqa")
        out.append(Sample(metric, str(row.get("id", n)), row["context"], (row.get("instruction") or "") + "\n",
                          "\n" + row["question"], [str(a) for a in answers]))
    for sample in out[:1] + [s for s in out if s.task != out[0].task]:
        check_metric(sample, f"{path}: line metric")
    return out


def check_metric(sample, where: str) -> None:
    """A sample's metric can score it (a bench task name, with the keywords it needs), or a one-line error."""
    from ..bench.metrics import score

    try:
        score(sample.task, sample.references[0], sample.references, **sample.extra)
    except GlyphpressError as e:
        raise GlyphpressError(f"{where} {sample.task!r}: {e}") from None


def _build_shard(spec_dict: dict, out: str, k: int) -> dict:
    spec = Spec(**spec_dict)
    maker = _maker(spec)
    return _write(maker, Path(out), k)


_MAKERS: dict[str, Maker] = {}


def _maker(spec: Spec) -> Maker:
    key = json.dumps(asdict(spec), sort_keys=True)
    if key not in _MAKERS:  # one per worker process: the corpus is read once
        _MAKERS.clear()
        _MAKERS[key] = Maker(spec)
    return _MAKERS[key]


def shard_name(spec: Spec, k: int) -> str:
    return f"{spec.kind}-{k:05d}"


def _write(maker: Maker, out: Path, k: int) -> dict:
    name = shard_name(maker.spec, k)
    if shards.done(out, name):
        return {"shard": name, "skipped": True}
    records = maker.shard(k)
    shards.write(out, name, records, rl=maker.spec.kind == "rl")
    return {"shard": name, "records": len(records), "pages": sum(len(r.images) for r in records),
            "skipped": False}


def build(spec: Spec, out: str | Path, workers: int = 1, ray_address: str | None = None,
          progress: Callable[[dict], None] | None = None) -> list[dict]:
    """Every shard of ``spec`` into ``out`` (those already there are skipped), locally over ``workers``
    processes or on Ray (``ray_address``: "local" for a cluster on this machine, or a cluster's address);
    then the dataset card. One line per shard: its name, records and pages, or that it was skipped."""
    try:
        import datasets  # noqa: F401 - the shards are written with it
        import pyarrow  # noqa: F401
    except ImportError:
        raise GlyphpressError("building training data needs datasets and pyarrow: pip install 'glyphpress[train]'"
                              ) from None
    maker = Maker(spec)  # the spec checked, the corpus and samples read: a bad source is an error before any work
    out = Path(out)
    _spec_file(out, spec)
    n_shards = -(-maker.count() // spec.shard_size)
    todo = [k for k in range(n_shards) if not shards.done(out, shard_name(spec, k))]
    results = [{"shard": shard_name(spec, k), "skipped": True} for k in range(n_shards) if k not in todo]
    for r in results if progress else ():
        progress(r)
    if ray_address is not None:
        from .distributed import build_on_ray

        results += build_on_ray(spec, out, todo, ray_address, progress)
    elif workers > 1 and len(todo) > 1:
        with ProcessPoolExecutor(workers) as pool:
            for r in pool.map(_build_shard, [asdict(spec)] * len(todo), [str(out)] * len(todo), todo):
                results.append(r)
                if progress:
                    progress(r)
    else:
        for k in todo:
            r = _write(maker, out, k)
            results.append(r)
            if progress:
                progress(r)
    from .card import write_card

    write_card(out, spec)
    return sorted(results, key=lambda r: r["shard"])


def _spec_file(out: Path, spec: Spec) -> None:
    """The spec beside the shards; a folder built from another spec is not mixed with this one."""
    path = out / "spec.json"
    data = asdict(spec)
    if out.exists() and not out.is_dir():
        raise GlyphpressError(f"{out}: exists and is not a folder; name a folder for -o")
    out.mkdir(parents=True, exist_ok=True)
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            old = None
        if old != data:
            raise GlyphpressError(f"{out}: built from another spec (spec.json); choose another -o")
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def spec_from(values: dict[str, Any]) -> Spec:
    return Spec(**{k: v for k, v in values.items() if v is not None})
