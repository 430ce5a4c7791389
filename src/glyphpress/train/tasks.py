"""Training records, one builder per task; each record is pages (PNG), a conversational prompt with an image
placeholder per page, the answer, the θ that drew the pages and what it holds (tokens, pages, source).

Continual pre-training (from any corpus, θ from the style sampler):

- ``ocr``: one or two pages; the answer is their text (page transcription);
- ``interleaved``: a passage as text, the next one as pages; the answer is the text that follows them;
- ``next-page``: one to three pages; the answer is the text of the page after them;
- ``masked``: a page on which a passage is drawn as ``[MASK]``; the answer is that passage.

SFT and RL (from question-answer samples, θ fixed): ``sft`` is instruction, pages, question and answer (with
``ocr`` items from the same pages mixed in at a rate, the auxiliary OCR task); ``rl`` is the prompt with its
verifiable references and the metric that scores them (bench's), for reward functions.
"""

from __future__ import annotations

import io
import random
import re
from dataclasses import dataclass, field
from typing import Any

from ..config import RenderConfig

PRETRAIN = ("ocr", "interleaved", "next-page", "masked")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
PROMPTS = {
    "en": {"ocr": "Transcribe the text on these pages exactly.",
           "interleaved": "Continue the text after these pages.",
           "next-page": "Write the text of the page that follows these pages.",
           "masked": "A passage on this page is hidden behind [MASK]. Write the hidden passage.",
           "sft": "Answer the question from the pages."},
    "zh": {"ocr": "请准确转录这些页面上的文字。",
           "interleaved": "请接着这些页面续写文本。",
           "next-page": "请写出这些页面之后下一页的文字。",
           "masked": "这一页上有一段文字被 [MASK] 遮住了。请写出被遮住的文字。",
           "sft": "请根据页面回答问题。"},
}


@dataclass
class Record:
    id: str
    task: str
    images: list[bytes]  # PNG files, in the order of the prompt's image placeholders
    prompt: list[dict]  # the conversation before the answer (TRL's conversational layout)
    answer: str
    theta: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)  # source, pages, text and vision tokens; references, metric

    def messages(self) -> list[dict]:
        return self.prompt + [{"role": "assistant", "content": [{"type": "text", "text": self.answer}]}]


def language(text: str) -> str:
    sample = text[:2000]
    return "zh" if len(_CJK.findall(sample)) > 0.2 * max(1, len(sample.strip())) else "en"


def _png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _user(parts: list) -> list[dict]:
    """A user turn: strings as text parts, None as an image placeholder."""
    return [{"role": "user", "content": [{"type": "image", "text": None} if p is None else
                                         {"type": "text", "text": p} for p in parts]}]


def _render(text: str, cfg: RenderConfig, model: str):
    from ..pipeline import render

    return render(text, cfg, model=model)


def _snap(text: str, at: int) -> int:
    """``at`` moved back to the start of a word (or a line), so passages never begin mid-word."""
    if at <= 0 or at >= len(text):
        return max(0, min(at, len(text)))
    ws = max(text.rfind(" ", 0, at), text.rfind("\n", 0, at))
    return ws + 1 if ws >= 0 and at - ws < 40 else at


def plain(text: str) -> str:
    """Text with its line ends as the renderer reads them (CRLF and CR as LF), so page ranges index it."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def chunk(text: str, rng: random.Random, size: int) -> tuple[int, str]:
    """A passage of about ``size`` characters starting at a word (the whole text when shorter)."""
    text = plain(text)
    if len(text) <= size:
        return 0, text
    start = _snap(text, rng.randrange(0, len(text) - size))
    return start, text[start:start + size]


def _pages_meta(r, first: int, last: int, model: str) -> dict:
    pages = r.pages[first:last]
    return {"pages": len(pages), "vision_tokens": sum(p.vision_tokens for p in pages),
            "text_tokens": sum(p.text_tokens or 0 for p in pages), "model": model}


def pretrain(task: str, text: str, cfg: RenderConfig, rng: random.Random, rid: str, source: str,
             model: str) -> Record | None:
    """A continual pre-training record of ``task`` from a document's ``text`` (None where the passage drawn
    is too short for the task)."""
    lang = language(text)
    ask = PROMPTS[lang][task]
    if task == "interleaved":
        before_len = rng.randint(300, 1200)
        at, passage = chunk(text, rng, before_len + 9000)
        cut = _snap(passage, min(before_len, len(passage) // 3))
        before, rest = passage[:cut], passage[cut:]
        if len(before.strip()) < 100 or len(rest.strip()) < 400:
            return None  # too short to give text, pages and a continuation
        r = _render(rest, cfg, model)
        k = min(len(r.pages) - 1, rng.randint(1, 2))
        if k < 1:
            return None
        end = r.pages[k - 1].source_range[1]
        answer = r.source[end:end + rng.randint(200, 800)]  # page ranges index the text as rendered
        if not answer.strip():
            return None
        images = [_png(p.image) for p in r.pages[:k]]
        prompt = _user([before] + [None] * k + [ask])
        meta = _pages_meta(r, 0, k, model)
    else:
        at, passage = chunk(text, rng, 14000)
        masked = None
        if task == "masked":
            spans = [m.span() for m in re.finditer(r"[^.!?。！？\n]{40,300}[.!?。！？]", passage[:3000])]
            if not spans:
                return None
            a, b = rng.choice(spans)
            masked = passage[a:b].strip()
            passage = passage[:a] + " [MASK] " + passage[b:]
        r = _render(passage, cfg, model)
        if task == "ocr":
            k = min(len(r.pages), rng.randint(1, 2))
            a, b = r.pages[0].source_range[0], r.pages[k - 1].source_range[1]
            answer, shown = r.source[a:b], (0, k)
        elif task == "next-page":
            if len(r.pages) < 2:
                return None
            k = rng.randint(1, min(3, len(r.pages) - 1))
            a, b = r.pages[k].source_range
            answer, shown = r.source[a:b], (0, k)
        else:  # masked: the page that shows the mask
            i = next((i for i, p in enumerate(r.pages) if "[MASK]" in r.source[slice(*p.source_range)]), None)
            if i is None:
                return None
            answer, shown = masked, (i, i + 1)
        images = [_png(p.image) for p in r.pages[shown[0]:shown[1]]]
        prompt = _user([None] * len(images) + [ask])
        meta = _pages_meta(r, *shown, model)
    meta.update({"source": source, "offset": at, "language": lang})
    return Record(rid, task, images, prompt, answer.strip(), cfg.to_dict(), meta)


def qa(sample, cfg: RenderConfig, rid: str, model: str, kind: str = "sft", metric: str | None = None) -> Record:
    """An SFT or RL record from a question-answer sample (bench's ``Sample``: instruction before the
    context, the context, the question after it, references): the context as pages, the rest as text."""
    r = _render(sample.context, cfg, model)
    images = [_png(p.image) for p in r.pages]
    before, after = sample.before.strip(), sample.after.strip()
    prompt = _user(([before] if before else []) + [None] * len(images) + ([after] if after else []))
    meta = _pages_meta(r, 0, len(r.pages), model)
    meta.update({"source": sample.id, "references": list(sample.references), "metric": metric or sample.task,
                 "extra": dict(sample.extra), "language": language(sample.context)})
    return Record(rid, kind, images, prompt, sample.references[0] if sample.references else "", cfg.to_dict(), meta)


def ocr_of(record: Record, context: str, cfg: RenderConfig, rng: random.Random, rid: str, model: str) -> Record:
    """An auxiliary OCR item from a QA record's context: one of its pages and that page's text."""
    r = _render(context, cfg, model)
    i = rng.randrange(len(r.pages))
    a, b = r.pages[i].source_range
    lang = language(context)
    meta = _pages_meta(r, i, i + 1, model)
    meta.update({"source": record.meta.get("source"), "language": lang, "auxiliary": True})
    return Record(rid, "ocr", [_png(r.pages[i].image)], _user([None, PROMPTS[lang]["ocr"]]), r.source[a:b].strip(),
                  cfg.to_dict(), meta)
