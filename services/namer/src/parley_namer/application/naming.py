"""The namer's use cases: keep the first exchanges, a provisional name at once, a generated name
after the replies of turns 1-3 (until one is made), suggestions and regenerate on request, and
naming analytics. Entrypoints (the consumer, the request responders) only call these.

Every attempt (automatic, suggestions, regenerate) is recorded with who named, the language,
words, latency, tokens, outcome and fallback reason; a session that opted out of analytics keeps
its content (names, details) out of those rows.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog
from parley_contracts import (
    MessageCreated,
    NamingAnalytics,
    NamingAnswer,
    NamingRequest,
    ReplyCompleted,
    SessionCreated,
    SessionDeleted,
    SessionNamed,
    SessionRenamed,
    derive_id,
)
from parley_runtime import AlreadyProcessed, HandlerContext, RetryLater, SessionGone, UnitOfWork

from ..domain.analytics import summarise
from ..domain.names import Turn, kept_message, prepare_turns
from ..domain.policy import (
    AsyncNamer,
    Proposal,
    is_milestone,
    is_settled,
    needs_nothing,
    should_attempt,
)
from ..domain.ports import NamingInput, NamingStore, in_order
from . import attempts
from .attempts import Observe

log = structlog.get_logger(__name__)

#: Opens a unit of work of the namer's schema.
UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]
#: Sessions known settled that a :class:`Naming` remembers (about 100 bytes each).
SETTLED_SESSIONS = 10_000


class Naming:
    """Naming with ``namer`` (the configured one) and ``offline`` (provisional names), keeping
    what it needs in ``store``.

    ``attempt_timeout_s``: the most one attempt may take, seconds (the namer's own timeouts come
    first; this bounds what is left).
    """

    def __init__(
        self,
        store: NamingStore,
        namer: AsyncNamer,
        offline: AsyncNamer,
        observe: Observe,
        *,
        attempt_timeout_s: float = 20.0,
    ) -> None:
        self.store = store
        self.namer = namer
        self.offline = offline
        self.observe = observe
        self.attempt_timeout_s = attempt_timeout_s
        self.known_settled: dict[uuid.UUID, None] = {}  # oldest first, SETTLED_SESSIONS at most

    # -- events ------------------------------------------------------------------------

    async def session_created(self, ctx: HandlerContext, event: SessionCreated) -> None:
        """Remember the session's analytics opt-out, and a name its user gave at creation
        (then it is settled from the start). Alone, one statement with the inbox mark, without
        a transaction (an optimistic unit of work, whose one write depends on nothing read)."""
        status = "user" if event.name_source == "user" else "pending"
        async with ctx.unit_of_work(event, optimistic=True) as uow:
            await self.store.set_analytics_opt_out(
                uow, event.session_id, event.user_id, event.analytics_opt_out, status
            )
            if is_settled(status):
                uow.after_commit(functools.partial(self._settled_now, event.session_id))

    async def message_created(self, ctx: HandlerContext, event: MessageCreated) -> None:
        """Keep a user message of the first exchanges; after the first one, publish a
        provisional name made from it at once (offline). A message of a session known settled
        needs nothing (:func:`~..domain.policy.needs_nothing`): no statement at all."""
        if needs_nothing(event.session_id in self.known_settled):
            return
        provisional = None
        if event.turn == 1:
            provisional = await self.offline.propose([Turn("user", event.content)])
        name = provisional.name if provisional else None
        # Nothing before the unit of work has an effect, so its inbox mark can come last: a
        # duplicate or a deleted session's message is refused there, its writes rolled back.
        async with ctx.unit_of_work(event, late_mark=True) as uow:
            state = await self.store.keep(
                uow.conn, event.session_id, event.user_id,
                kept_message(event.turn, "user", event.content), lock=name is not None,
            )  # fmt: skip
            if name and provisional and state and state.status == "pending" and not state.attempts:
                await uow.publish(
                    SessionNamed(
                        event_id=derive_id(event.event_id, "session.named.provisional"),
                        correlation_id=event.correlation_id,
                        session_id=event.session_id,
                        user_id=event.user_id,
                        name=name,
                        attempt=0,
                        language=provisional.language,
                        source="provisional",
                    )
                )

    async def reply_completed(self, ctx: HandlerContext, event: ReplyCompleted) -> None:
        """Keep the reply; after turns 1, 2 and 3 try to name a session still unnamed.

        What an attempt needs is read in one statement with whether the session was deleted
        or the event handled already (no chassis pre-check). A reply of a session known settled
        (:meth:`_settled_now`) needs nothing (:func:`~..domain.policy.needs_nothing`): no
        statement at all.

        Raises:
            RetryLater: the user message of this reply has not been kept yet.
            SessionGone: the session was deleted (nothing is tried or written).
            AlreadyProcessed: the event was handled already (nothing is tried or written).
        """
        if needs_nothing(event.session_id in self.known_settled):
            return
        proposal: Proposal | None = None
        read: NamingInput | None = None
        outcome = detail = None
        started = time.perf_counter()
        if is_milestone(event.turn):
            read = await self.store.naming_input(
                ctx.pool, event.session_id, consumer=ctx.consumer, event_id=event.event_id
            )
            if read.gone:
                raise SessionGone(f"session {event.session_id} was deleted")
            if read.handled:
                raise AlreadyProcessed(f"{ctx.consumer} already processed {event.event_id}")
            status = read.state.status if read.state else "pending"
            if is_settled(status):
                self._settled_now(event.session_id)
                return  # needs nothing from now on
            if should_attempt(status, event.turn):
                kept = read.kept
                if (event.turn, "user") not in kept:
                    raise RetryLater("the user message of this reply has not been seen yet")
                kept[(event.turn, "assistant")] = Turn(role="assistant", content=event.content)
                proposal, outcome, detail = await attempts.run(
                    self.namer, self.attempt_timeout_s, prepare_turns(in_order(kept))
                )
        duration_ms = int((time.perf_counter() - started) * 1000)

        # When the read above found the session standing and the event new, the inbox mark can
        # come last (a session deleted since still rolls the unit of work back).
        async with ctx.unit_of_work(event, late_mark=read is not None) as uow:
            current = await self.store.keep(
                uow.conn, event.session_id, event.user_id,
                kept_message(event.turn, "assistant", event.content), lock=outcome is not None,
            )  # fmt: skip
            if outcome is None:
                return
            if current is not None and current.status != "pending":
                outcome, detail = "superseded", f"session became {current.status} meanwhile"
            attempt = await attempts.record(
                uow, self.store, self.observe, event.session_id, event.user_id, current,
                "auto", event.turn, outcome, proposal, detail, duration_ms,
            )  # fmt: skip
            name = proposal.name if proposal else None
            if outcome != "named" or name is None or proposal is None:
                log.info("no name yet", attempt=attempt, outcome=outcome, turn=event.turn)
                return
            await self.store.set_named(uow, event.session_id, name, proposal.language)
            await uow.publish(
                SessionNamed(
                    event_id=derive_id(event.event_id, "session.named"),
                    correlation_id=event.correlation_id,
                    session_id=event.session_id,
                    user_id=event.user_id,
                    name=name,
                    attempt=attempt,
                    language=proposal.language,
                )
            )
        self._settled_now(event.session_id)  # committed
        log.info("session named", name=name, attempt=attempt, namer=proposal.namer)

    async def session_renamed(self, ctx: HandlerContext, event: SessionRenamed) -> None:
        """The user chose a name: stop naming this session automatically."""
        async with ctx.unit_of_work(event) as uow:
            await self.store.set_user_named(uow.conn, event.session_id, event.user_id, event.name)
            uow.after_commit(functools.partial(self._settled_now, event.session_id))

    async def session_deleted(self, ctx: HandlerContext, event: SessionDeleted) -> None:
        """Erase what the namer keeps of the session."""
        self.known_settled.pop(event.session_id, None)  # its events are refused from now on
        async with ctx.unit_of_work(event) as uow:
            await self.store.erase_session(uow.conn, event.session_id)
            await uow.forget_session(event.session_id)

    # -- requests ----------------------------------------------------------------------

    async def answer(self, unit_of_work: UnitOfWorkFactory, request: NamingRequest) -> NamingAnswer:
        """Suggestions (``count`` distinct titles; nothing changes) or a regenerated name (the
        session's name from now on, unless its user named it), recorded as an attempt;
        ``unit_of_work`` opens the transaction that records it (after the namer answered)."""
        turns = [Turn(t.role, t.content) for t in request.turns]
        count = request.count if request.purpose == "suggest" else 1
        started = time.perf_counter()
        proposal, outcome, detail = await attempts.run(
            self.namer, self.attempt_timeout_s, prepare_turns(turns),
            count=count, avoid=request.avoid,
        )  # fmt: skip
        if outcome == "named" and request.purpose == "suggest":
            outcome = "suggested"
        duration_ms = int((time.perf_counter() - started) * 1000)
        async with unit_of_work() as uow:
            return await self._answered(uow, request, proposal, outcome, detail, duration_ms)

    async def _answered(
        self,
        uow: UnitOfWork,
        request: NamingRequest,
        proposal: Proposal | None,
        outcome: str,
        detail: str | None,
        duration_ms: int,
    ) -> NamingAnswer:
        """Record a requested attempt; a regenerated name becomes the session's."""
        state = await self.store.keep(uow.conn, request.session_id, request.user_id, lock=True)
        if state is not None and request.analytics_opt_out:
            state = dataclasses.replace(state, analytics_opt_out=True)
        titles = list(proposal.titles) if proposal and outcome in ("named", "suggested") else []
        if request.purpose == "regenerate" and titles and state and state.status == "user":
            outcome, detail, titles = "superseded", "the user named the session", []
        attempt = await attempts.record(
            uow, self.store, self.observe, request.session_id, request.user_id, state,
            request.purpose, 0, outcome, proposal, detail, duration_ms,
        )  # fmt: skip
        if request.purpose == "regenerate" and titles and proposal is not None:
            await self.store.set_named(uow, request.session_id, titles[0], proposal.language)
        return NamingAnswer(
            titles=titles,
            language=proposal.language if proposal else None,
            namer=proposal.namer if proposal else "unknown",
            attempt=attempt,
        )

    async def analytics(self, pool: Any, user_id: str) -> NamingAnalytics:
        """The naming analytics of ``user_id``'s sessions."""
        return NamingAnalytics(**summarise(await self.store.attempt_rows(pool, user_id)))

    # -- internals ---------------------------------------------------------------------

    def _settled_now(self, session_id: uuid.UUID) -> None:
        """Remember a session whose committed state is settled (:func:`is_settled`), so that
        its next messages and replies need nothing; past :data:`SETTLED_SESSIONS`, the oldest
        goes."""
        self.known_settled[session_id] = None
        if len(self.known_settled) > SETTLED_SESSIONS:
            del self.known_settled[next(iter(self.known_settled))]
