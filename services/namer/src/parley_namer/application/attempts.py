"""One naming attempt and its record: what every kind of attempt (automatic, suggestions,
regenerate) shares in :mod:`parley_namer.application.naming`."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from parley_runtime import UnitOfWork

from ..domain.analytics import without_content
from ..domain.names import Turn
from ..domain.policy import AsyncNamer, Proposal
from ..domain.ports import NamingState, NamingStore

log = structlog.get_logger(__name__)

#: ``observe(purpose, outcome, proposal, duration_ms)``: metrics of one attempt.
Observe = Callable[[str, str, Proposal | None, int], None]


async def run(
    namer: AsyncNamer,
    timeout_s: float,
    turns: list[Turn],
    *,
    trigger_turn: int,
    started: float,
    count: int = 1,
    avoid: Sequence[str] = (),
) -> Made:
    """One attempt of ``namer``, bounded by ``timeout_s`` seconds, triggered by user turn
    ``trigger_turn`` (0: a request) and timed from ``started`` (a ``time.perf_counter()``):
    outcome ``named`` (titles proposed), ``no_name`` or ``error`` (with the error's text).
    Raises nothing."""
    proposal: Proposal | None = None
    outcome, detail = "error", None
    try:
        proposal = await asyncio.wait_for(
            namer.propose(turns, count=count, avoid=avoid), timeout=timeout_s
        )
        outcome = "named" if proposal.titles else "no_name"
    except Exception as exc:  # an attempt that fails is retried at the next milestone
        detail = f"{type(exc).__name__}: {exc}"
        log.warning("naming attempt failed", error=detail)
    duration_ms = int((time.perf_counter() - started) * 1000)
    return Made(trigger_turn, outcome, proposal, detail, duration_ms)


@dataclass(frozen=True)
class Made:
    """One attempt made: what triggered it (``trigger_turn``, 0 for a request), its outcome
    (``named``, ``no_name``, ``error``, ``superseded``, ``suggested``), the proposal (None when
    the namer failed), the error's text and how long it took (``duration_ms``)."""

    trigger_turn: int
    outcome: str
    proposal: Proposal | None
    detail: str | None
    duration_ms: int

    @property
    def name(self) -> str | None:
        """The name it gives the session, if it named it."""
        return self.proposal.name if self.proposal and self.outcome == "named" else None

    @property
    def language(self) -> str | None:
        """The language of its proposal, if any."""
        return self.proposal.language if self.proposal else None

    @property
    def namer(self) -> str:
        """Who proposed (``offline``, ``llm:<model>``), ``unknown`` without a proposal."""
        return self.proposal.namer if self.proposal else "unknown"

    def superseded(self, detail: str) -> Made:
        """The same attempt, outcome ``superseded`` (the session was settled meanwhile)."""
        return dataclasses.replace(self, outcome="superseded", detail=detail)

    def row(self, state: NamingState | None, user_id: str, purpose: str) -> dict[str, Any]:
        """The columns of its record (the keyword arguments of
        :meth:`~..domain.ports.NamingStore.record_attempt`), without content for a session
        that opted out of analytics (``state``)."""
        opt_out = bool(state and state.analytics_opt_out)
        proposal = self.proposal
        name = proposal.name if proposal and self.outcome in ("named", "suggested") else None
        reason = proposal.fallback_reason if proposal else None
        return {
            "trigger_turn": self.trigger_turn,
            "outcome": self.outcome,
            "name": None if opt_out else name,
            "language": self.language,
            "detail": None if opt_out else self.detail,
            "duration_ms": self.duration_ms,
            "user_id": user_id,
            "purpose": purpose,
            "namer": self.namer,
            "words": len(name.split()) if name else None,
            "input_tokens": proposal.input_tokens if proposal else None,
            "output_tokens": proposal.output_tokens if proposal else None,
            "model_calls": proposal.model_calls if proposal else 0,
            "fallback_reason": without_content(reason) if opt_out else reason,
        }

    def observe_after_commit(self, uow: UnitOfWork, observe: Observe, purpose: str) -> None:
        """Count it with ``observe`` once ``uow`` commits."""
        uow.after_commit(
            functools.partial(observe, purpose, self.outcome, self.proposal, self.duration_ms)
        )


async def record(
    uow: UnitOfWork,
    store: NamingStore,
    observe: Observe,
    session_id: uuid.UUID,
    user_id: str,
    state: NamingState | None,
    purpose: str,
    made: Made,
) -> int:
    """Record the attempt ``made`` in ``store`` (:meth:`Made.row`), in ``uow``, and count it
    with ``observe`` once the record is committed; returns the attempt's number."""
    made.observe_after_commit(uow, observe, purpose)
    return await store.record_attempt(uow.conn, session_id, **made.row(state, user_id, purpose))
