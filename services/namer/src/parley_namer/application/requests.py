"""The namer's request use cases: suggestions and regenerate (asked by the gateway for a user),
and naming analytics. The request responders only call these; the events' use cases are in
:mod:`parley_namer.application.naming`."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from parley_contracts import NamingAnalytics, NamingAnswer, NamingRequest
from parley_runtime import UnitOfWork

from ..domain.analytics import summarise
from ..domain.names import Turn, prepare_turns
from . import attempts
from .naming import Naming

#: Opens a unit of work of the namer's schema.
UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


async def answer(
    naming: Naming, unit_of_work: UnitOfWorkFactory, request: NamingRequest
) -> NamingAnswer:
    """Suggestions (``count`` distinct titles; nothing changes) or a regenerated name (the
    session's name from now on, unless its user named it), made by ``naming``'s namer and
    recorded as an attempt; ``unit_of_work`` opens the transaction that records it (after the
    namer answered)."""
    turns = [Turn(t.role, t.content) for t in request.turns]
    count = request.count if request.purpose == "suggest" else 1
    made = await attempts.run(
        naming.namer, naming.attempt_timeout_s, prepare_turns(turns),
        trigger_turn=0, started=time.perf_counter(), count=count, avoid=request.avoid,
    )  # fmt: skip
    if made.outcome == "named" and request.purpose == "suggest":
        made = dataclasses.replace(made, outcome="suggested")
    async with unit_of_work() as uow:
        return await _answered(naming, uow, request, made)


async def _answered(
    naming: Naming, uow: UnitOfWork, request: NamingRequest, made: attempts.Made
) -> NamingAnswer:
    """Record a requested attempt; a regenerated name becomes the session's."""
    store = naming.store
    state = await store.keep(uow.conn, request.session_id, request.user_id, lock=True)
    if state is not None and request.analytics_opt_out:
        state = dataclasses.replace(state, analytics_opt_out=True)
    proposal = made.proposal
    titles = list(proposal.titles) if proposal and made.outcome in ("named", "suggested") else []
    if request.purpose == "regenerate" and titles and state and state.status == "user":
        made, titles = made.superseded("the user named the session"), []
    attempt = await attempts.record(
        uow, store, naming.observe, request.session_id, request.user_id, state,
        request.purpose, made,
    )  # fmt: skip
    if request.purpose == "regenerate" and titles:
        await store.set_named(uow, request.session_id, titles[0], made.language)
    return NamingAnswer(titles=titles, language=made.language, namer=made.namer, attempt=attempt)


async def analytics(naming: Naming, pool: Any, user_id: str) -> NamingAnalytics:
    """The naming analytics of ``user_id``'s sessions, from ``naming``'s store."""
    return NamingAnalytics(**summarise(await naming.store.attempt_rows(pool, user_id)))
