"""The gateway's durable consumer: keeps sessions current from the other services' events.

Each handler opens the event's unit of work (with its inbox mark) and applies one rule of
:mod:`parley_gateway.application.replies`; that is all it does, so events of different
sessions share a transaction (``batch=True``, see :mod:`parley_runtime.batching`). A reply, a
name or a tag handled alone is applied in an optimistic unit of work: the session read without
a lock, then one statement that saves it over the version read, with the inbox mark and the
announcements, and no transaction; read again when another save came first (a few times, then
under the session's lock; :mod:`parley_gateway.application.optimistic`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TypeVar

import structlog
from parley_contracts import Event, ReplyCompleted, ReplyFailed, SessionNamed, SessionTagged
from parley_runtime import ConsumerSpec, HandlerContext, Handlers
from parley_runtime import UnitOfWork as Transaction

from .adapters.notifications import ReplyWaiters
from .adapters.saved_sessions import SavedSessions
from .adapters.unit_of_work import PostgresUnitOfWork, over
from .application import replies
from .application.optimistic import optimistically
from .domain.ports import ConcurrentUpdate

log = structlog.get_logger(__name__)

#: What a message that cannot get its reply stored says.
REPLY_NOT_STORED = "the reply could not be stored"
E = TypeVar("E", bound=Event)


@dataclass
class GatewayHandlers:
    """The gateway's event handlers; ``waiters`` (this replica's requests waiting for replies)
    are told a stored reply or failure directly, once committed; ``saved`` (this replica's
    sessions as last committed) starts optimistic writes without a read."""

    waiters: ReplyWaiters | None = None
    saved: SavedSessions | None = None

    def _over(
        self, transaction: AbstractAsyncContextManager[Transaction], *, from_saved: bool = False
    ) -> AbstractAsyncContextManager[PostgresUnitOfWork]:
        """The gateway unit of work over ``transaction``, telling this replica's waiters and
        keeping its saved sessions (``from_saved``: see
        :class:`~.adapters.repositories.PostgresSessions`)."""
        return over(transaction, self.waiters, self.saved, from_saved=from_saved)

    async def apply(
        self, rule: Callable[[PostgresUnitOfWork, E], Awaitable[bool]], event: E,
        ctx: HandlerContext,
    ) -> bool:  # fmt: skip
        """Apply ``rule(uow, event)`` (a rule of :mod:`~.application.replies` that saves the
        event's session, if anything) in optimistic units of work
        (:func:`~.application.optimistic.optimistically`), then, if another save of the
        session came first at every try, once more under the session's lock. In a batch: once,
        in the batch's transaction, from this replica's saved copy of the session when it has
        one (its save guarded on that version, so a stale copy has the batch handled again
        event by event, and batches read rows for a while:
        :meth:`~.adapters.saved_sessions.SavedSessions.stale_in_batch`), else locking the row
        as it is read. Returns what the rule returned.

        Raises:
            AlreadyProcessed, SessionGone: the inbox mark refused the event (nothing written).
            StorageUnavailable: the database is out of reach.
            ConcurrentUpdate: in a batch, another save of the session came first.
        """
        if ctx.batch is not None:
            from_saved = self.saved is not None and self.saved.for_batches()
            try:
                async with self._over(ctx.unit_of_work(event), from_saved=from_saved) as uow:
                    return await rule(uow, event)
            except ConcurrentUpdate:
                if self.saved is not None and from_saved:
                    log.info("batch refused for a stale saved session; batches read rows a while")
                    self.saved.stale_in_batch()
                raise
        try:
            return await optimistically(
                lambda: self._over(ctx.unit_of_work(event, optimistic=True)),
                lambda uow: rule(uow, event),
            )
        except ConcurrentUpdate:
            async with self._over(ctx.unit_of_work(event)) as uow:
                return await rule(uow, event)

    async def on_reply_completed(self, event: ReplyCompleted, ctx: HandlerContext) -> None:
        """Store the reply and wake the requests waiting for it."""
        stored = await self.apply(replies.store_reply, event, ctx)
        if stored:
            log.debug("reply stored", turn=event.turn)
        else:
            log.info("reply for a deleted session dropped", turn=event.turn)

    async def on_reply_failed(self, event: ReplyFailed, ctx: HandlerContext) -> None:
        """Fail the user message, with the reason, and wake its waiters."""
        async with self._over(ctx.unit_of_work(event)) as uow:
            await replies.fail_message(uow, event.reply_to, event.reason)
        log.warning("reply failed", reply_to=str(event.reply_to), reason=event.reason)

    async def on_session_named(self, event: SessionNamed, ctx: HandlerContext) -> None:
        """Take an automatic name unless the user named the session."""
        applied = await self.apply(replies.apply_auto_name, event, ctx)
        if applied:
            log.debug("automatic name applied", name=event.name)
        else:
            log.info("automatic name ignored", name=event.name)

    async def on_session_tagged(self, event: SessionTagged, ctx: HandlerContext) -> None:
        """Record the session's tag and its display label."""
        await self.apply(replies.record_tag, event, ctx)
        log.debug("session tagged", session_tag=event.session_tag)

    async def on_give_up(self, event: Event, reason: str, ctx: HandlerContext) -> None:
        """A reply that cannot be stored: fail its message, so the user is not left waiting."""
        if not isinstance(event, ReplyCompleted):
            return
        async with self._over(ctx.transaction()) as uow:
            await replies.fail_message(uow, event.reply_to, REPLY_NOT_STORED)
        log.error("reply could not be stored", reply_to=str(event.reply_to), reason=reason[:300])

    def consumer_spec(self) -> ConsumerSpec:
        """The gateway's durable consumer ``gateway``."""
        return ConsumerSpec(
            durable="gateway",
            handlers=Handlers()
            .on(ReplyCompleted, self.on_reply_completed, batch=True)
            .on(ReplyFailed, self.on_reply_failed, batch=True)
            .on(SessionNamed, self.on_session_named, batch=True)
            .on(SessionTagged, self.on_session_tagged, batch=True),
            on_give_up=self.on_give_up,
        )
