"""The namer's event use cases: keep the first exchanges, a provisional name at once, a generated
name after the replies of turns 1-3 (until one is made). The consumer only calls these; the
requests' (suggestions, regenerate, analytics) are in :mod:`parley_namer.application.requests`.

Every attempt (automatic, suggestions, regenerate) is recorded with who named, the language,
words, latency, tokens, outcome and fallback reason; a session that opted out of analytics keeps
its content (names, details) out of those rows.
"""

from __future__ import annotations

import functools
import time
import uuid
from typing import Literal

import structlog
from parley_contracts import (
    MessageCreated,
    ReplyCompleted,
    SessionCreated,
    SessionDeleted,
    SessionNamed,
    SessionRenamed,
    derive_id,
)
from parley_runtime import (
    AlreadyProcessed,
    HandlerContext,
    RetryLater,
    SessionGone,
    WriteConflict,
)

from ..domain.names import Turn, kept_message, prepare_turns
from ..domain.policy import (
    AsyncNamer,
    is_milestone,
    is_settled,
    needs_nothing,
    should_attempt,
)
from ..domain.ports import NamingInput, NamingState, NamingStore, in_order
from . import attempts
from .attempts import Observe

log = structlog.get_logger(__name__)

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
        needs nothing (:func:`~..domain.policy.needs_nothing`): no statement at all.

        Kept in one statement without a transaction (an optimistic unit of work, inbox mark
        included); the one with a provisional name guarded on the session being pending and
        never attempted, else decided again under the state's lock."""
        if needs_nothing(event.session_id in self.known_settled):
            return
        kept = kept_message(event.turn, "user", event.content)
        provisional = None
        if event.turn == 1:
            provisional = await self.offline.propose([Turn("user", event.content)])
        if provisional is None or provisional.name is None or kept is None:
            async with ctx.unit_of_work(event, optimistic=True) as uow:
                await self.store.keep_last(uow, event.session_id, event.user_id, kept)
            return
        named = self._named(event, provisional.name, 0, provisional.language, "provisional")
        try:
            async with ctx.unit_of_work(event, optimistic=True) as uow:
                await self.store.keep_unattempted(uow, event.session_id, kept)
                await uow.publish(named)
            return
        except WriteConflict:  # attempted or settled meanwhile, or no state yet
            log.info("naming state not new; deciding the provisional name under its lock")
        # Nothing before the unit of work has an effect, so its inbox mark can come last: a
        # duplicate or a deleted session's message is refused there, its writes rolled back.
        async with ctx.unit_of_work(event, late_mark=True) as uow:
            state = await self.store.keep(
                uow.conn, event.session_id, event.user_id, kept, lock=True
            )
            if state and state.status == "pending" and not state.attempts:
                await uow.publish(named)

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
        made: attempts.Made | None = None
        read: NamingInput | None = None
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
                made = await attempts.run(
                    self.namer, self.attempt_timeout_s, prepare_turns(in_order(kept)),
                    trigger_turn=event.turn, started=started,
                )  # fmt: skip
        exchange = kept_message(event.turn, "assistant", event.content)
        if read is None or made is None or exchange is None:  # no attempt: only keep it
            async with ctx.unit_of_work(event, optimistic=True) as uow:
                await self.store.keep_last(uow, event.session_id, event.user_id, exchange)
            return
        settled: tuple[int, str | None] | None = None
        if read.state is not None:
            try:
                settled = await self._settle_as_read(ctx, event, read.state, exchange, made)
            except WriteConflict:
                log.info("naming state changed during the attempt; settling under its lock")
        attempt, name = settled or await self._settle_locked(ctx, event, exchange, made)
        if name is None:
            log.info("no name yet", attempt=attempt, outcome=made.outcome, turn=event.turn)
            return
        self._settled_now(event.session_id)  # committed
        log.info("session named", name=name, attempt=attempt, namer=made.namer)

    async def _settle_as_read(
        self, ctx: HandlerContext, event: ReplyCompleted, state: NamingState,
        exchange: tuple[int, Turn], made: attempts.Made,
    ) -> tuple[int, str | None]:  # fmt: skip
        """Keep the reply, record the attempt ``made`` and name the session with it, in one
        statement without a transaction (an optimistic unit of work, inbox mark included),
        guarded on the naming state being still as read (``state``); the attempt's number and
        the name given (None when it gave none).

        Raises:
            WriteConflict: the state changed meanwhile (nothing is written).
        """
        name = made.name
        async with ctx.unit_of_work(event, optimistic=True) as uow:
            row = made.row(state, event.user_id, "auto")
            named = (name, made.language) if name is not None else None
            attempt = await self.store.settle_attempt(uow, state, exchange, row, named)
            made.observe_after_commit(uow, self.observe, "auto")
            if name is not None:
                await uow.publish(self._named(event, name, attempt, made.language))
        return attempt, name

    async def _settle_locked(
        self, ctx: HandlerContext, event: ReplyCompleted, exchange: tuple[int, Turn],
        made: attempts.Made,
    ) -> tuple[int, str | None]:  # fmt: skip
        """As :meth:`_settle_as_read`, in a transaction on the state locked as it is read: an
        attempt that finds the session settled meanwhile is recorded ``superseded``."""
        # The read before the attempt found the session standing and the event new, so the
        # inbox mark can come last (a session deleted since still rolls the unit of work back).
        async with ctx.unit_of_work(event, late_mark=True) as uow:
            state = await self.store.keep(
                uow.conn, event.session_id, event.user_id, exchange, lock=True
            )
            if state is not None and state.status != "pending":
                made = made.superseded(f"session became {state.status} meanwhile")
            attempt = await attempts.record(
                uow, self.store, self.observe, event.session_id, event.user_id, state, "auto", made
            )
            name = made.name
            if name is not None:
                await self.store.set_named(uow, event.session_id, name, made.language)
                await uow.publish(self._named(event, name, attempt, made.language))
        return attempt, name

    @staticmethod
    def _named(
        event: MessageCreated | ReplyCompleted, name: str, attempt: int, language: str | None,
        source: Literal["provisional", "auto"] = "auto",
    ) -> SessionNamed:  # fmt: skip
        """The ``session.named`` of ``event``'s session (its id derived from ``event``'s)."""
        suffix = "session.named.provisional" if source == "provisional" else "session.named"
        return SessionNamed(
            event_id=derive_id(event.event_id, suffix),
            correlation_id=event.correlation_id,
            session_id=event.session_id,
            user_id=event.user_id,
            name=name,
            attempt=attempt,
            language=language,
            source=source,
        )

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

    # -- internals ---------------------------------------------------------------------

    def _settled_now(self, session_id: uuid.UUID) -> None:
        """Remember a session whose committed state is settled (:func:`is_settled`), so that
        its next messages and replies need nothing; past :data:`SETTLED_SESSIONS`, the oldest
        goes."""
        self.known_settled[session_id] = None
        if len(self.known_settled) > SETTLED_SESSIONS:
            del self.known_settled[next(iter(self.known_settled))]
