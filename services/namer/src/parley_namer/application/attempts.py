"""One naming attempt and its record: what every kind of attempt (automatic, suggestions,
regenerate) shares in :mod:`parley_namer.application.naming`."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Callable, Sequence

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
    count: int = 1,
    avoid: Sequence[str] = (),
) -> tuple[Proposal | None, str, str | None]:
    """One attempt of ``namer``, bounded by ``timeout_s`` seconds: the proposal, its outcome
    (``named``, ``no_name``, ``error``) and the error's text."""
    try:
        proposal = await asyncio.wait_for(
            namer.propose(turns, count=count, avoid=avoid), timeout=timeout_s
        )
    except Exception as exc:  # an attempt that fails is retried at the next milestone
        detail = f"{type(exc).__name__}: {exc}"
        log.warning("naming attempt failed", error=detail)
        return None, "error", detail
    return proposal, ("named" if proposal.titles else "no_name"), None


async def record(
    uow: UnitOfWork,
    store: NamingStore,
    observe: Observe,
    session_id: uuid.UUID,
    user_id: str,
    state: NamingState | None,
    purpose: str,
    trigger_turn: int,
    outcome: str,
    proposal: Proposal | None,
    detail: str | None,
    duration_ms: int,
) -> int:
    """Record one attempt in ``store`` (without content for a session that opted out), in
    ``uow``, and count it with ``observe`` once the record is committed; returns the attempt's
    number."""
    opt_out = bool(state and state.analytics_opt_out)
    name = proposal.name if proposal and outcome in ("named", "suggested") else None
    reason = proposal.fallback_reason if proposal else None
    uow.after_commit(functools.partial(observe, purpose, outcome, proposal, duration_ms))
    return await store.record_attempt(
        uow.conn,
        session_id,
        trigger_turn=trigger_turn,
        outcome=outcome,
        name=None if opt_out else name,
        language=proposal.language if proposal else None,
        detail=None if opt_out else detail,
        duration_ms=duration_ms,
        user_id=user_id,
        purpose=purpose,
        namer=proposal.namer if proposal else "unknown",
        words=len(name.split()) if name else None,
        input_tokens=proposal.input_tokens if proposal else None,
        output_tokens=proposal.output_tokens if proposal else None,
        model_calls=proposal.model_calls if proposal else 0,
        fallback_reason=without_content(reason) if opt_out else reason,
    )
