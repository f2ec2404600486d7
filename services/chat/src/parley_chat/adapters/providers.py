"""The ``UpstreamAI`` adapter over a :mod:`parley_providers` client, and the model router that
picks the adapter (and the concurrency slot) for a session's model from the catalogue."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from pathlib import Path

from parley_providers import (
    OFFLINE_PROVIDERS,
    Catalogue,
    Delta,
    ModelSpec,
    Provider,
    ProviderError,
    Turn,
    build_provider,
)

from ..domain.upstream import (
    DeltaSink,
    TranscriptTurn,
    UnknownModel,
    UpstreamAI,
    UpstreamError,
    UpstreamReply,
    UpstreamSessionLost,
)
from .echo import EchoUpstream
from .replay import ReplayUpstream


def _turns(history: Sequence[TranscriptTurn]) -> list[Turn]:
    return [Turn(t.role, t.content) for t in history]


def _upstream_error(error: ProviderError) -> UpstreamError:
    if error.kind == "session_lost":
        return UpstreamSessionLost(str(error))
    return UpstreamError(
        str(error),
        retryable=error.retryable,
        kind=str(error.kind),
        retry_after_s=error.retry_after_s,
    )


class ProviderUpstream:
    """A catalogue model answered by its provider's client."""

    def __init__(self, spec: ModelSpec, provider: Provider) -> None:
        self.spec = spec
        self.provider = spec.provider
        self.model = spec.name
        self.stateless = not provider.stateful
        self._client = provider

    async def open_session(
        self,
        *,
        session_id: uuid.UUID,
        persona: str | None,
        first_message: str,
        history: Sequence[TranscriptTurn] = (),
    ) -> str | None:
        """The provider's new upstream session (seeded with ``history``), or None where the first
        send opens it."""
        try:
            return await self._client.open_session(system=persona, history=_turns(history))
        except ProviderError as exc:
            raise _upstream_error(exc) from exc

    async def send(
        self,
        *,
        upstream_id: str | None,
        content: str,
        turn: int,
        history: Sequence[TranscriptTurn],
        on_delta: DeltaSink,
        persona: str | None = None,
    ) -> UpstreamReply:
        """One streamed turn; the reply names the upstream session to continue next."""

        async def forward(delta: Delta) -> None:
            await on_delta(delta.index, delta.text)

        try:
            done = await self._client.stream(
                session_id=upstream_id,
                system=persona,
                user=content,
                history=_turns(history),
                on_delta=forward,
            )
        except ProviderError as exc:
            raise _upstream_error(exc) from exc
        return UpstreamReply(
            done.text,
            input_tokens=done.usage.input_tokens,
            output_tokens=done.usage.output_tokens,
            upstream_id=done.session_id,
            response_id=done.response_id,
            finish_reason=done.finish_reason,
            last_byte_at=done.last_byte_at,
        )


class ModelRouter:
    """The upstream adapter and the concurrency slot of each catalogue model (built lazily, once).

    ``forced``: one adapter answering every model (``PARLEY_UPSTREAM=echo|replay``, and tests).
    """

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        replay_file: Path | None = None,
        delta_words: int = 8,
        forced: UpstreamAI | None = None,
    ) -> None:
        self.catalogue = catalogue
        self._replay_file = replay_file
        self._delta_words = delta_words
        self._forced = forced
        self._adapters: dict[str, UpstreamAI] = {}
        self._slots: dict[str, asyncio.Semaphore] = {}

    def unusable(self) -> dict[str, str]:
        """Models that cannot answer here, with why (a missing key, a missing replay file)."""
        if self._forced is not None:
            return {}
        problems = self.catalogue.unusable()
        if self._replay_file is None:
            problems.update(
                {
                    m.name: "PARLEY_REPLAY_FILE is not set"
                    for m in self.catalogue.models
                    if m.provider == "replay"
                }
            )
        return problems

    def for_model(self, name: str) -> UpstreamAI:
        """The adapter answering model ``name``.

        Raises:
            UnknownModel: not in the catalogue, or unusable here (the reason says why).
        """
        if self._forced is not None:
            return self._forced
        if name in self._adapters:
            return self._adapters[name]
        spec = self.catalogue.get(name)
        if spec is None:
            raise UnknownModel(f"the model {name!r} is not in the catalogue")
        problem = self.unusable().get(name)
        if problem:
            raise UnknownModel(f"the model {name!r} cannot be used here: {problem}")
        self._adapters[name] = self._build(spec)
        return self._adapters[name]

    def slot(self, name: str) -> asyncio.Semaphore:
        """The semaphore bounding calls in flight to model ``name`` in this process
        (``max_concurrency`` of its catalogue entry; 4 for a model outside it)."""
        if name not in self._slots:
            spec = self.catalogue.get(name)
            self._slots[name] = asyncio.Semaphore(spec.max_concurrency if spec else 4)
        return self._slots[name]

    def _build(self, spec: ModelSpec) -> UpstreamAI:
        if spec.provider == "echo":
            return EchoUpstream(model=spec.name, delta_words=self._delta_words)
        if spec.provider == "replay":
            assert self._replay_file is not None
            return ReplayUpstream(self._replay_file, model=spec.name, delta_words=self._delta_words)
        assert spec.provider not in OFFLINE_PROVIDERS
        return ProviderUpstream(spec, build_provider(spec))
