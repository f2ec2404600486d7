"""The LLM namer under the evaluation's synchronous :class:`~parley_namer.domain.policy.Namer`
shape, with what its calls cost."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from parley_namer.adapters.choice import build_namers
from parley_namer.domain.names import Turn
from parley_namer.domain.policy import AsyncNamer
from parley_namer.settings import NamerSettings


class BlockingNamer:
    """Runs an :class:`~parley_namer.domain.policy.AsyncNamer` on an event loop of its own (one
    thread, so the model's client keeps one loop), one conversation at a time, and sums what
    the attempts cost. Call :meth:`close` when done."""

    def __init__(self, namer: AsyncNamer) -> None:
        self.namer = namer
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.model_calls = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.fallbacks: Counter[str] = Counter()

    def propose_with_language(self, turns: Sequence[Turn]) -> tuple[str | None, str | None]:
        """The namer's name and language for ``turns`` (blocking)."""
        future = asyncio.run_coroutine_threadsafe(self.namer.propose(turns), self.loop)
        proposal = future.result()
        self.model_calls += proposal.model_calls
        self.input_tokens += proposal.input_tokens or 0
        self.output_tokens += proposal.output_tokens or 0
        if proposal.fallback_reason:
            self.fallbacks[proposal.fallback_reason.split(":", 1)[0][:60]] += 1
        return proposal.name, proposal.language

    def costs(self) -> dict[str, Any]:
        """Model calls, tokens, and fallbacks to the offline namer by reason."""
        return {
            "model_calls": self.model_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "fallbacks": sum(self.fallbacks.values()),
            "fallback_reasons": dict(self.fallbacks.most_common()),
        }

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


def llm_namer(model: str, models_file: Path | None) -> BlockingNamer:
    """The LLM namer of catalogue model ``model`` (``models_file``, else ``PARLEY_MODELS_FILE``,
    else the bundled catalogue), falling back offline as in the service.

    Raises:
        ValueError: the model is not in the catalogue or has no structured output.
    """
    settings = NamerSettings(namer="llm", naming_model=model, models_file=models_file)
    namer, _ = build_namers(settings)
    return BlockingNamer(namer)
