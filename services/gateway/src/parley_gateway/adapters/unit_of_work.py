"""The gateway's unit of work on PostgreSQL: the chassis transaction (state, outbox and, for a
consumer, the inbox mark) with the gateway's repositories and announcements on top."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import structlog
from parley_contracts import Event, SessionChange
from parley_runtime import UnitOfWork as Transaction
from parley_runtime import WriteConflict
from parley_runtime.db import database_unreachable

from ..domain.ports import ConcurrentUpdate, ReplyOutcome, StorageUnavailable
from .idempotency_keys import PostgresIdempotencyKeys
from .messages_repository import PostgresMessages
from .notifications import REPLY_CHANNEL, SESSION_CHANNEL, ReplyWaiters
from .repositories import PostgresSessions
from .saved_sessions import SavedSessions

log = structlog.get_logger(__name__)


class PostgresUnitOfWork:
    """Repositories, outbox and NOTIFY announcements on one open chassis transaction;
    ``waiters``, this replica's requests waiting for replies, are told a settled outcome
    directly once it is committed; ``saved``, this replica's sessions as last committed, is
    kept up to date (see :class:`~.repositories.PostgresSessions`)."""

    def __init__(
        self,
        transaction: Transaction,
        waiters: ReplyWaiters | None = None,
        saved: SavedSessions | None = None,
        *,
        from_saved: bool = False,
    ) -> None:
        self.transaction = transaction
        self.waiters = waiters
        self.sessions = PostgresSessions(
            transaction.conn, transaction, saved, from_saved=from_saved
        )
        self.messages = PostgresMessages(transaction.conn)
        self.idempotency_keys = PostgresIdempotencyKeys(transaction.conn)

    async def publish(self, event: Event) -> None:
        """Put ``event`` in the outbox of this transaction."""
        await self.transaction.publish(event)

    async def announce(self, change: SessionChange) -> None:
        """``NOTIFY gateway_session_events`` with the change, delivered at commit."""
        self.transaction.notify(SESSION_CHANNEL, change.to_json())

    async def announce_reply(
        self, user_message_id: uuid.UUID, outcome: ReplyOutcome | None = None
    ) -> None:
        """``NOTIFY gateway_replies`` with the user message id, delivered at commit (the
        waiters of every replica then read the message); with ``outcome``, this replica's
        waiters are told it once committed, without a read (and pass over the notification)."""
        if outcome is None or self.waiters is None:
            self.transaction.notify(REPLY_CHANNEL, str(user_message_id))
            return
        payload = self.waiters.announcement(user_message_id)
        self.transaction.notify(REPLY_CHANNEL, payload)
        self.transaction.after_commit(
            functools.partial(self.waiters.settle, user_message_id, outcome)
        )


def over(
    transaction: AbstractAsyncContextManager[Transaction],
    waiters: ReplyWaiters | None = None,
    saved: SavedSessions | None = None,
    *,
    from_saved: bool = False,
) -> AbstractAsyncContextManager[PostgresUnitOfWork]:
    """A gateway unit of work over a chassis transaction context (a service's
    ``unit_of_work()`` or a handler's ``ctx.unit_of_work(event)``), telling ``waiters`` the
    outcomes it announces and keeping ``saved`` up to date (``from_saved``: see
    :class:`~.repositories.PostgresSessions`).

    Raises:
        StorageUnavailable: the database is out of reach (see
        :func:`parley_runtime.db.database_unreachable`; chained).
        ConcurrentUpdate: a session saved over a version that changed meanwhile (chained).
    """

    @asynccontextmanager
    async def scope() -> AsyncIterator[PostgresUnitOfWork]:
        try:
            async with transaction as opened:
                yield PostgresUnitOfWork(opened, waiters, saved, from_saved=from_saved)
        except WriteConflict as exc:
            raise ConcurrentUpdate(str(exc)) from exc
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            log.warning("database unavailable", error=f"{type(exc).__name__}: {exc}"[:300])
            raise StorageUnavailable(f"the database is unavailable: {type(exc).__name__}") from exc

    return scope()
