"""The gateway's unit of work on PostgreSQL: the chassis transaction (state, outbox and, for a
consumer, the inbox mark) with the gateway's repositories and announcements on top."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import asyncpg
from parley_contracts import Event, SessionChange
from parley_runtime import UnitOfWork as Transaction

from ..domain.ports import StorageUnavailable
from .notifications import REPLY_CHANNEL, SESSION_CHANNEL
from .repositories import PostgresIdempotencyKeys, PostgresMessages, PostgresSessions


class PostgresUnitOfWork:
    """Repositories, outbox and NOTIFY announcements on one open chassis transaction."""

    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction
        self.sessions = PostgresSessions(transaction.conn)
        self.messages = PostgresMessages(transaction.conn)
        self.idempotency_keys = PostgresIdempotencyKeys(transaction.conn)

    async def publish(self, event: Event) -> None:
        """Put ``event`` in the outbox of this transaction."""
        await self.transaction.publish(event)

    async def announce(self, change: SessionChange) -> None:
        """``NOTIFY gateway_session_events`` with the change, delivered at commit."""
        await self.transaction.conn.execute(
            "SELECT pg_notify($1, $2)", SESSION_CHANNEL, change.to_json()
        )

    async def announce_reply(self, user_message_id: uuid.UUID) -> None:
        """``NOTIFY gateway_replies`` with the user message id, delivered at commit."""
        await self.transaction.conn.execute(
            "SELECT pg_notify($1, $2)", REPLY_CHANNEL, str(user_message_id)
        )


#: Errors that mean the database is out of reach for now, not that the request is wrong: a
#: statement past the pool's ``command_timeout``, a refused or lost connection, a server
#: starting up, shutting down or recovering from a crash (SQLSTATE classes 08 and 57).
UNREACHABLE: tuple[type[BaseException], ...] = (
    TimeoutError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
)


#: Client-state errors asyncpg raises when the server goes away in the middle of a statement
#: ("the underlying connection is closed", "cannot switch to state …").
LOST_MIDWAY: tuple[type[BaseException], ...] = (
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


def over(
    transaction: AbstractAsyncContextManager[Transaction],
) -> AbstractAsyncContextManager[PostgresUnitOfWork]:
    """A gateway unit of work over a chassis transaction context (a service's
    ``unit_of_work()`` or a handler's ``ctx.unit_of_work(event)``).

    Raises:
        StorageUnavailable: from an :data:`UNREACHABLE` error of the database (chained).
    """

    @asynccontextmanager
    async def scope() -> AsyncIterator[PostgresUnitOfWork]:
        bug: BaseException | None = None
        try:
            async with transaction as opened:
                try:
                    yield PostgresUnitOfWork(opened)
                except LOST_MIDWAY as exc:
                    # asyncpg reports a server gone mid-statement as a client-state error; on a
                    # connection that is still open the same error is a bug: raise it as it is.
                    if not opened.conn.is_closed():
                        bug = exc
                        raise
                    raise StorageUnavailable(
                        f"the database connection was lost: {type(exc).__name__}"
                    ) from exc
        except UNREACHABLE as exc:
            raise StorageUnavailable(f"the database is unavailable: {type(exc).__name__}") from exc
        except LOST_MIDWAY as exc:
            if exc is bug:
                raise
            # Raised by the transaction's own commit or rollback: its connection is closed or
            # was cut while closing.
            raise StorageUnavailable(
                f"the database connection was lost: {type(exc).__name__}"
            ) from exc

    return scope()
