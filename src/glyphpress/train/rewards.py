"""Reward functions for TRL's ``GRPOTrainer``: each takes ``prompts``, ``completions`` and the dataset's
columns as keyword arguments and returns one float per completion.

- ``accuracy_reward``: the task's own metric (``glyphpress.bench.metrics.score``: LongBench's, RULER's, MRCR's)
  on the final answer against the record's ``references``, the metric named by its ``metric`` column with the
  keywords of its ``extra`` column (a classification's classes, MRCR's prefix);
- ``format_reward``: 1 for ``<think>…</think>`` (optional) then ``<answer>…</answer>`` with nothing else
  around them, 0.5 for a plain answer without tags, 0 for anything else (unclosed or repeated tags, empty);
- ``ocr_reward``: the normalised edit similarity of the completion to the record's ``answer`` (1 - the
  Levenshtein distance over the longer length, whitespace runs as one space), for transcription items.
"""

from __future__ import annotations

import re

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.S)
_FORMAT = re.compile(r"\s*(?:<think>(?:(?!<think>|</think>).)*</think>\s*)?<answer>((?:(?!<answer>|</answer>).)+)"
                     r"</answer>\s*", re.S)
_TAG = re.compile(r"</?(?:think|answer)>")


def text_of(completion) -> str:
    """A completion as text: a string, or a conversation's (the last message's) content."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion:
        content = completion[-1].get("content", "") if isinstance(completion[-1], dict) else completion[-1]
        if isinstance(content, list):
            return "".join(p.get("text") or "" for p in content if isinstance(p, dict))
        return str(content)
    return ""


def final_answer(text: str) -> str:
    """The answer of a completion: inside ``<answer>`` where there is one, else the text after any
    ``</think>``."""
    m = _ANSWER.search(text)
    if m:
        return m.group(1).strip()
    return text.split("</think>")[-1].strip()


def accuracy_reward(prompts, completions, references=None, metric=None, extra=None, **kwargs) -> list[float]:
    import json

    from ..bench.metrics import score

    out = []
    for i, c in enumerate(completions):
        refs = references[i] if references is not None else [kwargs["answer"][i]]
        keywords = extra[i] if extra is not None else {}
        keywords = json.loads(keywords) if isinstance(keywords, str) else keywords or {}
        out.append(float(score(metric[i] if metric is not None else "hotpotqa", final_answer(text_of(c)), refs,
                               **keywords)))
    return out


def format_reward(prompts, completions, **kwargs) -> list[float]:
    out = []
    for c in completions:
        text = text_of(c)
        if _FORMAT.fullmatch(text):
            out.append(1.0)
        elif text.strip() and not _TAG.search(text):
            out.append(0.5)
        else:
            out.append(0.0)
    return out


def ocr_reward(prompts, completions, answer=None, **kwargs) -> list[float]:
    from rapidfuzz.distance import Levenshtein

    out = []
    for c, ref in zip(completions, answer):
        a, b = " ".join(final_answer(text_of(c)).split()), " ".join(str(ref).split())
        out.append(1.0 - Levenshtein.distance(a, b) / max(1, len(a), len(b)))
    return out


REWARDS = {"accuracy": accuracy_reward, "format": format_reward, "ocr": ocr_reward}
