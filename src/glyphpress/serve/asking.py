"""The route that asks a VLM about a document's pages (streamed as Server-Sent Events, or as one JSON
answer), with the text-only baseline beside it when one is configured. The page files are read from disk
in a worker thread once a slot is held (the slot is kept until that thread has returned) and go to the
engine as they are; a stream has the request deadline too, and a client that hangs up cancels the
engine's request."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import aclosing

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse

from ..config import load_config
from ..errors import GlyphpressError
from ..tokens.text import count_tokens, text_tokenizer
from ..vlm.ask import PROMPT_OVERHEAD, run_route
from ..vlm.base import Generation
from ..vlm.base import Request as AskRequest
from ..vlm.openai import BackendError, ContextOverflow
from .bodies import json_object
from .documents import page_files, services, sse, unless_gone
from .gate import remaining
from .jobs import render_job
from .services import Services

router = APIRouter()
MAX_QUESTION = 20_000  # characters
MAX_ANSWER_TOKENS = 32_768
NOT_CONFIGURED = ("no VLM is configured: start the server with --base-url URL --model NAME "
                  "(an OpenAI-compatible server) or --backend transformers --model NAME")


def engine_status(e: GlyphpressError) -> int:
    """The HTTP status for an engine's failure: the prompt too long is the client's (400); an engine that
    cannot be reached or fails is a bad gateway (502)."""
    if isinstance(e, ContextOverflow):
        return 400
    return 502 if isinstance(e, BackendError) else 400


def _generation(body: dict) -> Generation:
    raw = body.get("max_tokens", 512)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_ANSWER_TOKENS:
        raise HTTPException(400, f"max_tokens: expected a whole number from 1 to {MAX_ANSWER_TOKENS}")
    return Generation(max_tokens=raw)


def _evidence(sv: Services, stats: dict, answer: str) -> dict:
    """Where the answer comes from in the document (evidence's citations, line boxes in page pixels); for a
    cross-check, the disagreements with each side located in its own document. The answer is given whatever
    befalls this: a failure here is said beside it (``evidence_error``), never an error of the request."""
    try:
        return _located(sv, stats, answer)
    except Exception as e:  # noqa: BLE001 - a model's reply must never turn a good answer into a 500
        logging.getLogger("glyphpress.serve").exception("locating evidence failed")
        return {"citations": [], "evidence_error": f"the answer's evidence could not be located ({type(e).__name__})"}


def _located(sv: Services, stats: dict, answer: str) -> dict:
    from ..evidence import Shown, locate

    m = sv.store.manifest(stats["document_id"])
    if m is None:  # removed meanwhile
        return {"citations": []}
    shown = Shown.from_manifest(m, sv.store.source(stats["document_id"]), sv.store.lines(stats["document_id"]))
    if stats.get("cross_check"):
        from ..evidence.crosscheck import locate_sides, parse

        found = parse(answer, stats["cross_check"])
        locate_sides(found, shown)
        return {"citations": [], "disagreements": [d.to_dict() for d in found]}
    return {"citations": [c.to_dict() for c in locate(answer, shown)]}


def _load_pages(sv: Services, doc_id: str, stop) -> list[bytes]:
    """The document's page files as they are (an engine gets them without decoding and encoding again)."""
    return [data for _, data in page_files(sv, doc_id, stop)]


@router.post("/v1/ask", summary="Ask a question about a document (SSE stream or JSON)",
             description="JSON `{document_id | text, question, stream?: true, baseline?: false, max_tokens?}`, or "
                         "`{document_id, cross_check: true, topic?}` for a bundle: the statements its documents "
                         "disagree on, as `disagreements` (each side quoted and located in its own document). "
                         "With stream, Server-Sent Events: `{\"text\": ...}` pieces, then `{\"done\": true, ...}`. "
                         "Both end with `citations`: where the answer comes from (document, pages, lines, snippet, "
                         "line boxes in page pixels). "
                         "No VLM configured: 503; the VLM unreachable or failing: 502.")
async def ask(request: Request):
    sv = services(request)
    deadline = sv.deadline()
    body = await json_object(request)
    cross = body.get("cross_check", False)
    if not isinstance(cross, bool):
        raise HTTPException(400, "cross_check: expected true or false")
    topic = body.get("topic")
    if topic is not None and (not isinstance(topic, str) or len(topic) > 500):
        raise HTTPException(400, "topic: expected a text of at most 500 characters")
    question = body.get("question", "") if not cross else ""
    if not cross and (not isinstance(question, str) or not question.strip()):
        raise HTTPException(400, "the question is empty")
    if len(question) > MAX_QUESTION:
        raise HTTPException(400, f"the question is longer than {MAX_QUESTION:,} characters")
    gen = _generation(body)
    be = sv.backend("main")
    if be is None:
        raise HTTPException(503, NOT_CONFIGURED)
    doc_id = body.get("document_id")
    if cross and not doc_id:
        raise HTTPException(400, "a cross-check needs the document_id of a bundle of two documents or more")
    if not doc_id:
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise HTTPException(400, "give a document_id or a text")
        doc_id = sv.store.new_id()
        await unless_gone(request, sv.gate.run(deadline, render_job, sv, doc_id, [("text.txt", text.encode())],
                                               load_config("glyph-en"), None))
    m = sv.store.manifest(doc_id) if isinstance(doc_id, str) else None
    if m is None:
        raise HTTPException(404, "no such document")
    names = [d["name"] for d in m.get("documents", [])]
    if cross:
        from ..evidence.crosscheck import question as cross_question

        if len(names) < 2:
            raise HTTPException(400, "a cross-check needs a bundle of two documents or more")
        question = cross_question(names, topic)
        body["baseline"] = False
    q_tokens = count_tokens(text_tokenizer(), question)
    base = sv.backend("baseline") if body.get("baseline") else None
    text_req = AskRequest(question, text=sv.store.source(doc_id), gen=gen) if base else None
    stats = {"document_id": doc_id, "pages": len(m["pages"]), "text_tokens": m["totals"]["text_tokens"],
             "vision_tokens": m["totals"]["vision_tokens"], "compression_ratio": m["totals"]["compression_ratio"],
             "prompt_tokens_predicted": m["totals"]["vision_tokens"] + q_tokens + PROMPT_OVERHEAD}
    if cross:
        stats["cross_check"] = names
    predicted_text = (m["totals"]["text_tokens"] or 0) + q_tokens + PROMPT_OVERHEAD
    stream = body.get("stream", True)
    if not isinstance(stream, bool):
        raise HTTPException(400, "stream: expected true or false")
    if stream:
        sv.gate.refuse_if_full()  # a stream starts with 200: busy must be said before it
        return StreamingResponse(_stream(sv, be, question, gen, base, text_req, predicted_text, stats, deadline),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    return await unless_gone(request, _answer(sv, be, question, gen, base, text_req, predicted_text, stats, deadline))


async def _answer(sv: Services, be, question: str, gen: Generation, base, text_req, predicted_text: int,
                  stats: dict, deadline: float) -> dict:
    """The answer as one JSON object."""
    doc_id = stats["document_id"]
    async with sv.gate.slot(deadline):
        visual = AskRequest(question, images=await sv.gate.call(deadline, _load_pages, sv, doc_id), gen=gen)
        try:
            r = await asyncio.wait_for(run_route(be, visual, stats["prompt_tokens_predicted"], None),
                                       remaining(deadline))
        except asyncio.TimeoutError:
            raise HTTPException(504, "the model took longer than this server allows; the request was cancelled") \
                from None
        except GlyphpressError as e:
            raise HTTPException(engine_status(e), str(e)) from None
        out = dict(stats, answer=r.answer, prompt_tokens_reported=r.usage.prompt_tokens,
                   latency_s=round(r.latency_s, 3), **await asyncio.to_thread(_evidence, sv, stats, r.answer))
        if base is not None:
            out.update(await _baseline(base, text_req, predicted_text, deadline))
    return out


async def _baseline(base, text_req, predicted_text: int, deadline: float) -> dict:
    try:
        r = await asyncio.wait_for(run_route(base, text_req, predicted_text, None),
                                   remaining(deadline))
    except asyncio.TimeoutError:
        return {"baseline_error": "the text-only baseline took longer than this server allows"}
    except GlyphpressError as e:
        return {"baseline_error": str(e)}
    return {"baseline": {"answer": r.answer, "prompt_tokens_reported": r.usage.prompt_tokens,
                         "latency_s": round(r.latency_s, 3)}}


async def _stream(sv: Services, be, question: str, gen: Generation, base, text_req, predicted_text: int,
                  stats: dict, deadline: float):
    try:
        async with sv.gate.slot(deadline):
            t0 = time.perf_counter()
            pages = await sv.gate.call(deadline, _load_pages, sv, stats["document_id"])
            visual = AskRequest(question, images=pages, gen=gen)
            usage, parts = None, []
            async with aclosing(be.stream(visual)) as pieces:  # closed (the engine request cancelled) on hang-up
                while True:
                    try:
                        piece = await asyncio.wait_for(pieces.__anext__(), remaining(deadline))
                    except StopAsyncIteration:
                        break
                    except asyncio.TimeoutError:
                        yield sse({"error": "the model took longer than this server allows; the request was "
                                            "cancelled", "status": 504})
                        return
                    if piece.text:
                        parts.append(piece.text)
                        yield sse({"text": piece.text})
                    if piece.usage is not None:
                        usage = piece.usage
            done = dict(stats, done=True, latency_s=round(time.perf_counter() - t0, 3),
                        prompt_tokens_reported=usage.prompt_tokens if usage else None,
                        **await asyncio.to_thread(_evidence, sv, stats, "".join(parts)))
            if base is not None:
                done.update(await _baseline(base, text_req, predicted_text, deadline))
            yield sse(done)
    except HTTPException as e:
        yield sse({"error": str(e.detail), "status": e.status_code})
    except GlyphpressError as e:
        yield sse({"error": str(e), "status": engine_status(e)})
