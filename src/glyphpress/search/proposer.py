"""The LLM that guides the search: each generation it gets the space and the history so far (θ, ρ,
quality, score, pages of the best and the latest candidates) from an OpenAI-compatible chat endpoint and
answers with an analysis and proposed candidates as JSON. Proposals may name only some keys (the rest come
from the best θ so far); they are validated and repaired into the space. A reply that is not usable, or an
endpoint that fails, gives no proposals and an error to record: the search goes on unguided."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..vlm.replies import first_json
from .space import Space

SYSTEM = ("You tune the rendering parameters θ that turn long text into page images for a vision-language model. "
          "Higher ρ (text tokens per vision token) is better while quality (1 - OCR character error rate) stays "
          "high. Answer with one JSON object only: {\"analysis\": \"...\", \"candidates\": [{key: value, ...}, ...]}.")


@dataclass
class Proposal:
    candidates: list[dict[str, Any]] = field(default_factory=list)
    analysis: str = ""
    error: str | None = None  # why there are none


class Proposer:
    def __init__(self, base_url: str, model: str = "default", api_key: str | None = None, count: int = 3,
                 timeout: float = 120.0):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.api_key, self.count, self.timeout = model, api_key, count, timeout

    def prompt(self, space: Space, history: list[dict[str, Any]]) -> str:
        keys = {k: p.to_dict() for k, p in space.params.items() if p.kind != "fixed"}
        best = sorted(history, key=lambda h: -h["score"])[:8]
        latest = history[-8:]
        rows = [{"theta": h["theta"], "rho": round(h["rho"], 3), "quality": h["quality"], "score": round(h["score"], 4),
                 "pages": h["pages"]} for h in best + [h for h in latest if h not in best]]
        return (f"The keys you may set, with their options or ranges:\n{json.dumps(keys, ensure_ascii=False)}\n\n"
                f"Candidates so far (the best, then the latest):\n{json.dumps(rows, ensure_ascii=False)}\n\n"
                f"Say what helps and what hurts, then propose {self.count} new candidates likely to score higher "
                "(any subset of the keys; the others stay as in the best).")

    def propose(self, space: Space, history: list[dict[str, Any]]) -> Proposal:
        import httpx

        body = {"model": self.model, "temperature": 0.7, "messages": [
            {"role": "system", "content": SYSTEM}, {"role": "user", "content": self.prompt(space, history)}]}
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            r = httpx.post(self.url, json=body, headers=headers, timeout=self.timeout)
            r.raise_for_status()
            reply = r.json()["choices"][0]["message"]["content"] or ""
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as e:
            return Proposal(error=f"{type(e).__name__}: {str(e)[:200]}")
        return parse(reply, space, history, self.count)


def parse(reply: str, space: Space, history: list[dict[str, Any]], count: int) -> Proposal:
    """Candidates from a reply (the first JSON object in it with a candidates list, code fences allowed), over
    the best θ so far, repaired into the space; nothing usable: an error."""
    data = first_json(reply, "{", lambda v: isinstance(v, dict) and isinstance(v.get("candidates"), list))
    if data is None:
        return Proposal(error="no JSON object with a candidates list in the reply", analysis=reply[:500])
    base = dict(max(history, key=lambda h: h["score"])["theta"]) if history else {}
    out = []
    for c in data["candidates"][:count]:
        if not isinstance(c, dict):
            continue
        theta = base | {k: v for k, v in c.items() if k in space.params}
        theta = space.repair(theta)
        if theta not in out:
            out.append(theta)
    analysis = data.get("analysis") if isinstance(data.get("analysis"), str) else ""
    return Proposal(out, analysis, None if out else "no usable candidate in the reply")
