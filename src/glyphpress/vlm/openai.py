"""OpenAI-compatible chat completions (vLLM, SGLang, LMDeploy, Ollama, llama.cpp, hosted APIs).

Pages go as base64 PNG ``image_url`` parts before the question; answers stream over SSE. Connection
errors, 429 and 5xx are retried with exponential backoff (honouring Retry-After) until the first
token arrives; a stream cut after that is an error, never a silently short answer.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from contextlib import aclosing

import httpx

from ..errors import GlyphpressError
from .base import Piece, Request, Usage, encoded, png_data_url

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
_OVERFLOW_HINTS = ("context length", "maximum context", "context window", "too many tokens", "prompt is too long",
                   "exceeds the model", "input is too long")


class BackendError(GlyphpressError):
    """The engine failed: unreachable, refused, timed out, or answered something unusable."""


class ContextOverflow(BackendError):
    """The engine says the prompt does not fit its context."""


class EmptyAnswer(BackendError):
    """The engine (or model) answered nothing: an answer, for a benchmark; an error, for a question."""


class OpenAIBackend:
    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 300.0,
                 retries: int = 4, concurrency: int = 4, backoff: float = 0.5, local_media: str | None = None):
        if not base_url.startswith(("http://", "https://")):
            raise GlyphpressError(f"base URL must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.local_media = local_media  # a folder the server may read (vLLM: --allowed-local-media-path)
        self.concurrency = concurrency
        self._limit: asyncio.Semaphore | None = None
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._client = httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(self.timeout, connect=10.0))
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def payload(self, r: Request) -> dict:
        parts = r.layout()
        content = [{"type": "image_url", "image_url": {"url": self._image_url(v)}} if kind == "image"
                   else {"type": "text", "text": v} for kind, v in parts]
        messages: list[dict] = [{"role": "system", "content": r.system}] if r.system else []
        messages.append({"role": "user", "content": content if r.images else parts[0][1]})
        body = {"model": self.model, "messages": messages, "stream": True, "stream_options": {"include_usage": True},
                "max_tokens": r.gen.max_tokens, "temperature": r.gen.temperature, "top_p": r.gen.top_p}
        if r.gen.stop:
            body["stop"] = list(r.gen.stop)[:4]
        return body

    def _image_url(self, img) -> str:
        """A data URL, or a file:// URL into ``local_media`` (saves the upload when the server is local)."""
        if self.local_media is None:
            return png_data_url(img)
        import hashlib
        from pathlib import Path

        folder = Path(self.local_media).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        data, media = encoded(img)
        path = folder / f"{hashlib.sha1(data).hexdigest()}.{media.split('/')[1]}"
        if not path.exists():
            path.write_bytes(data)
        return path.as_uri()

    async def stream(self, request: Request) -> AsyncIterator[Piece]:
        body = await asyncio.to_thread(self.payload, request)  # pages encoded off the event loop
        url = f"{self.base_url}/chat/completions"
        if self._limit is None:
            self._limit = asyncio.Semaphore(self.concurrency)
        async with self._limit:
            attempt = 0
            while True:
                try:
                    async with aclosing(self._once(url, body)) as pieces:
                        async for piece in pieces:
                            yield piece
                    return
                except _Retry as e:
                    attempt += 1
                    if attempt > self.retries:
                        raise BackendError(f"{self.base_url}: {e.reason}; gave up after {self.retries} "
                                           "retries") from None
                    delay = e.after if e.after is not None else self.backoff * 2 ** (attempt - 1)
                    await asyncio.sleep(min(60.0, delay * (1 + 0.1 * random.random())))

    async def _once(self, url: str, body: dict) -> AsyncIterator[Piece]:
        started = False
        try:
            async with self._http().stream("POST", url, json=body) as resp:
                if resp.status_code != 200:
                    await self._fail(resp)
                usage = Usage()
                got_text = False
                # the line reader is closed here, not left to the garbage collector once the event loop is gone
                async with aclosing(resp.aiter_lines()) as lines:
                    async for line in lines:
                        line = line.strip()
                        if not line or line.startswith(":") or not line.startswith("data:"):
                            continue
                        data = line[5:].strip()
                        if data == "[DONE]":
                            if not got_text:
                                raise EmptyAnswer(f"{self.base_url}: the engine returned an empty answer")
                            yield Piece(usage=usage)
                            return
                        try:
                            event = json.loads(data)
                        except ValueError:
                            raise BackendError(f"{self.base_url}: malformed stream event: {data[:80]!r}") from None
                        if "error" in event:
                            raise _error_from(self.base_url, event["error"])
                        if event.get("usage"):
                            usage = Usage(event["usage"].get("prompt_tokens"), event["usage"].get("completion_tokens"))
                        for choice in event.get("choices") or []:
                            delta = (choice.get("delta") or {}).get("content") or (choice.get("text") or "")
                            if delta:
                                got_text = started = True
                                yield Piece(text=delta)
                raise BackendError(f"{self.base_url}: the answer stream was cut before it finished")
        except httpx.TimeoutException:
            if started:
                raise BackendError(f"{self.base_url}: timed out in the middle of the answer") from None
            raise _Retry("timed out") from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as e:
            if started:
                raise BackendError(f"{self.base_url}: connection lost in the middle of the answer ({e})") from None
            raise _Retry(f"cannot connect ({type(e).__name__})") from None

    async def _fail(self, resp: httpx.Response) -> None:
        raw = (await resp.aread()).decode("utf-8", "replace")
        try:
            detail = json.loads(raw).get("error", raw)
        except (ValueError, AttributeError):
            detail = raw
        if resp.status_code in RETRY_STATUS:
            after = resp.headers.get("retry-after")
            raise _Retry(f"HTTP {resp.status_code}", float(after) if after and after.isdigit() else None)
        raise _error_from(self.base_url, detail, resp.status_code)


class _Retry(Exception):
    def __init__(self, reason: str, after: float | None = None):
        super().__init__(reason)
        self.reason, self.after = reason, after


def _error_from(base_url: str, detail, status: int | None = None) -> BackendError:
    msg = detail.get("message", json.dumps(detail)) if isinstance(detail, dict) else str(detail)
    msg = " ".join(msg.split())[:300]
    where = f"{base_url}: HTTP {status}" if status else base_url
    if any(h in msg.lower() for h in _OVERFLOW_HINTS):
        return ContextOverflow(f"{where}: the prompt does not fit the model's context ({msg}); "
                               "lower --budget or use a denser preset")
    return BackendError(f"{where}: {msg}")
