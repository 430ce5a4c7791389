"""What the routes share: settings, the document store, the slots, the θ rules and the model backends."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .gate import Gate
from .settings import Settings
from .store import Store
from .theta import ClientTheta


@dataclass
class Services:
    settings: Settings
    store: Store
    gate: Gate
    theta: ClientTheta
    _backends: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, s: Settings) -> Services:
        return cls(s, Store(s.data_dir, s.max_documents, s.lifetime_s), Gate(s.max_concurrent, s.max_queued),
                   ClientTheta(s.fonts))

    def deadline(self) -> float:
        """When a request starting now must have finished (``time.monotonic()``)."""
        return time.monotonic() + self.settings.request_timeout

    def backend(self, kind: str = "main"):
        """The VLM (``main``) or the text-only baseline, made on first use; None where not configured."""
        s = self.settings
        if kind in self._backends:
            return self._backends[kind]
        if kind == "baseline":
            if not s.baseline_url:
                return None
            from ..vlm.openai import OpenAIBackend

            be = OpenAIBackend(s.baseline_url, s.baseline_model or s.model or "default", api_key=s.api_key)
        else:
            if s.backend == "openai" and not s.base_url:
                return None
            from ..vlm.ask import make_backend

            be = make_backend(s.backend, s.model or "zai-org/Glyph", s.base_url, s.api_key)
        self._backends[kind] = be
        return be

    async def aclose(self) -> None:
        for be in self._backends.values():
            await be.aclose()
        self.store.close()
