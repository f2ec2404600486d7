"""Answering one turn through the upstream AI, the same way for every provider.

- the upstream session is opened once (stored at once when the provider names it before the first
  reply, else with the first reply) and continued after, also across restarts;
- a lost upstream session is rebuilt once from the transcript, and the new id stored;
- retryable failures (429 with ``Retry-After``, 5xx, timeouts) are retried with
  :func:`parley_providers.call_with_retries`, all tries of a turn bounded by one deadline
  (``PARLEY_TURN_DEADLINE_S``); what still fails gets a reason a user can read.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from parley_contracts import MessageCreated
from parley_providers import RetryPolicy, call_with_retries
from parley_runtime.tracing import set_reply_attributes, upstream_call

from ..domain.ports import TurnStore
from ..domain.turns import TurnLedger
from ..domain.upstream import (
    DeltaSink,
    UpstreamAI,
    UpstreamError,
    UpstreamReply,
    UpstreamSessionLost,
)

log = structlog.get_logger(__name__)


@dataclass
class Answer:
    """A turn's reply, the upstream session it leaves to continue, and whether that session was
    opened by this turn (``opened``); ``retries`` counts the tries after the first."""

    reply: UpstreamReply
    upstream_id: str | None
    opened: bool
    retries: int


class TurnAnswerer:
    """Sends one turn to an upstream adapter with retries and one rebuild of a lost session."""

    def __init__(
        self, store: TurnStore, *, deadline_s: float, base_s: float = 0.5, cap_s: float = 8.0
    ) -> None:
        self.store = store
        self.deadline_s = deadline_s
        self.base_s = base_s
        self.cap_s = cap_s

    async def answer(
        self,
        event: MessageCreated,
        upstream: UpstreamAI,
        pool: Any,
        ledger: TurnLedger,
        on_delta: DeltaSink,
    ) -> Answer:
        """Answer ``event`` on the upstream session of the session's ``ledger`` (no upstream
        id yet: open one; one stored at once is taken into ``ledger``, see
        :meth:`~parley_chat.domain.turns.TurnLedger.opened_as`), inside one GenAI client span (``chat {model}``) that carries
        the upstream session as ``gen_ai.conversation.id`` and the reply's token usage.

        Raises:
            UpstreamError: the turn failed for good (not retryable, out of tries or past the
                deadline, or the session was lost again after its rebuild).
        """
        with upstream_call(
            provider=upstream.provider, model=upstream.model, session_id=str(event.session_id)
        ) as span:
            answer = await self._answer(event, upstream, pool, ledger, on_delta)
            set_reply_attributes(
                span,
                conversation_id=answer.upstream_id,
                response_id=answer.reply.response_id,
                finish_reason=answer.reply.finish_reason,
                input_tokens=answer.reply.input_tokens,
                output_tokens=answer.reply.output_tokens,
                retries=answer.retries,
            )
            return answer

    async def _answer(
        self,
        event: MessageCreated,
        upstream: UpstreamAI,
        pool: Any,
        ledger: TurnLedger,
        on_delta: DeltaSink,
    ) -> Answer:
        started = time.monotonic()
        retries = 0

        def note_retry(attempt: int, error: Exception, delay_s: float) -> None:
            nonlocal retries
            retries += 1
            log.warning(
                "upstream call retried",
                attempt=attempt,
                delay_s=round(delay_s, 3),
                error=str(error)[:200],
            )

        async def retried(call: Callable[[], Awaitable[Any]]) -> Any:
            remaining = self.deadline_s - (time.monotonic() - started)
            policy = RetryPolicy(
                deadline_s=max(0.0, remaining),
                base_s=self.base_s,
                cap_s=self.cap_s,
                max_attempts=1000,
            )
            return await call_with_retries(
                call, policy, on_retry=note_retry, retry_on=UpstreamError
            )

        current = ledger.upstream_id
        opened = False
        history = await self.store.transcript(pool, event.session_id) if upstream.stateless else []
        if current is None:
            current = await retried(lambda: self._open(event, upstream, pool, ledger, []))
            opened = current is None  # the first send opens it
        for rebuilt in (False, True):
            try:
                reply: UpstreamReply = await retried(
                    functools.partial(
                        upstream.send,
                        upstream_id=current,
                        content=event.content,
                        turn=event.turn,
                        history=history,
                        on_delta=on_delta,
                        persona=event.persona,
                    )
                )
                return Answer(reply, reply.upstream_id or current, opened, retries)
            except UpstreamSessionLost:
                if rebuilt:
                    raise
                log.warning(
                    "upstream session lost; rebuilding from the transcript", upstream_id=current
                )
                history = await self.store.transcript(pool, event.session_id)
                current = await retried(
                    functools.partial(self._open, event, upstream, pool, ledger, history)
                )
                opened = current is None
        raise AssertionError("unreachable")

    async def _open(
        self,
        event: MessageCreated,
        upstream: UpstreamAI,
        pool: Any,
        ledger: TurnLedger,
        history: list,
    ) -> str | None:
        upstream_id = await upstream.open_session(
            session_id=event.session_id,
            persona=event.persona,
            first_message=event.content,
            history=history,
        )
        if upstream_id is not None:  # named before the first reply: keep it at once
            opened_count, version = await self.store.save_opened(
                pool,
                session_id=event.session_id,
                user_id=event.user_id,
                provider=upstream.provider,
                model=upstream.model,
                upstream_id=upstream_id,
            )
            ledger.opened_as(upstream_id, opened_count, version)
            log.info("upstream session created", upstream_id=upstream_id, opened=opened_count)
        return upstream_id
