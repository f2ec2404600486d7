"""The unit of work: one database transaction holding a state change, its outbox events and
the inbox mark of the event that caused it (after cosmicpython's "Unit of Work" pattern).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import asyncpg
from parley_contracts import Event, Subjects

from .tracing import current_context


#: The Postgres NOTIFY channel that wakes the outbox relay of a schema: ``<schema>_outbox``.
def outbox_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel of ``schema``'s outbox."""
    return f"{schema}_outbox"


class AlreadyProcessed(Exception):
    """The inbox already holds this consumer's mark for the event: the effect exists; ack it."""


class SessionGone(Exception):
    """The event's session was deleted: its effect must not be written; ack it unhandled."""


@dataclass
class UnitOfWork:
    """An open transaction on ``conn``; events added with :meth:`publish` reach the outbox.

    Use it through :func:`unit_of_work`. Everything done on ``conn`` commits or rolls back together.
    """

    conn: asyncpg.Connection
    subjects: Subjects
    schema: str
    published: list[Event] = field(default_factory=list)

    async def publish(self, event: Event) -> None:
        """Write ``event`` to the outbox in this transaction (a duplicate event id is ignored),
        with the current trace context (see :mod:`parley_runtime.tracing`), and NOTIFY the
        schema's outbox channel in the same statement: PostgreSQL delivers the notification at
        commit, once per transaction however many events were written."""
        trace_context = current_context()
        await self.conn.execute(
            "WITH written AS (INSERT INTO outbox (event_id, event_type, subject, payload,"
            " trace_context) VALUES ($1, $2, $3, $4, $6::jsonb)"
            " ON CONFLICT (event_id) DO NOTHING RETURNING 1)"
            " SELECT pg_notify($5, '') FROM written",
            event.event_id,
            event.event_type,
            self.subjects.of(event),
            event.to_json(),
            outbox_channel(self.schema),
            json.dumps(trace_context) if trace_context else None,
        )
        self.published.append(event)

    async def forget_session(self, session_id: uuid.UUID) -> None:
        """Record that ``session_id`` was deleted: later events of it are dropped unhandled."""
        await self.conn.execute(
            "INSERT INTO deleted_sessions (session_id) VALUES ($1) ON CONFLICT DO NOTHING",
            session_id,
        )

    async def mark_processed(self, consumer: str, event: Event) -> None:
        """Record in the inbox that ``consumer`` handled ``event``, unless its session was
        deleted (a ``session.deleted`` event itself is always marked). One statement.

        Raises:
            AlreadyProcessed: the mark exists: a redelivery whose effect is already committed.
            SessionGone: the session was deleted; nothing is written.
        """
        row = await self.conn.fetchrow(
            "WITH gone AS (SELECT $4 AND EXISTS (SELECT 1 FROM deleted_sessions"
            " WHERE session_id = $5) AS deleted),"
            " mark AS (INSERT INTO inbox (consumer, event_id, event_type)"
            " SELECT $1, $2, $3 FROM gone WHERE NOT gone.deleted"
            " ON CONFLICT DO NOTHING RETURNING true)"
            " SELECT (SELECT deleted FROM gone) AS deleted, EXISTS (SELECT 1 FROM mark) AS marked",
            consumer,
            event.event_id,
            event.event_type,
            event.event_type != "session.deleted",
            event.session_id,
        )
        assert row is not None
        if row["deleted"]:
            raise SessionGone(f"session {event.session_id} was deleted")
        if not row["marked"]:
            raise AlreadyProcessed(f"{consumer} already processed event {event.event_id}")


@asynccontextmanager
async def unit_of_work(
    pool: asyncpg.Pool,
    subjects: Subjects,
    schema: str,
    *,
    consumer: str | None = None,
    cause: Event | None = None,
) -> AsyncIterator[UnitOfWork]:
    """Open a transaction; with ``consumer`` and ``cause`` it first marks the inbox.

    On a clean exit the transaction commits and, when events were published, the outbox relay is
    woken (the NOTIFY of :meth:`UnitOfWork.publish`, delivered at commit).

    Raises:
        AlreadyProcessed: ``consumer`` already processed ``cause`` (nothing is written).
        SessionGone: ``cause``'s session was deleted (nothing is written).
    """
    async with pool.acquire() as conn, conn.transaction():
        uow = UnitOfWork(conn=conn, subjects=subjects, schema=schema)
        if consumer is not None and cause is not None:
            await uow.mark_processed(consumer, cause)
        yield uow


@asynccontextmanager
async def joined_unit_of_work(
    conn: asyncpg.Connection,
    subjects: Subjects,
    schema: str,
    *,
    consumer: str | None = None,
    cause: Event | None = None,
) -> AsyncIterator[UnitOfWork]:
    """A unit of work inside the transaction already open on ``conn`` (a batch of events): it
    commits or rolls back with that transaction, not on its own. With ``consumer`` and ``cause``
    it first marks the inbox, as :func:`unit_of_work` does.

    Raises:
        AlreadyProcessed: ``consumer`` already processed ``cause`` (nothing is written).
        SessionGone: ``cause``'s session was deleted (nothing is written).
    """
    uow = UnitOfWork(conn=conn, subjects=subjects, schema=schema)
    if consumer is not None and cause is not None:
        await uow.mark_processed(consumer, cause)
    yield uow


async def prior_state(pool: asyncpg.Pool, consumer: str, event: Event) -> tuple[bool, bool]:
    """``(session deleted, event already processed by consumer)`` in one round trip: an event
    that is either is settled without running its handler."""
    row = await pool.fetchrow(
        "SELECT EXISTS (SELECT 1 FROM deleted_sessions WHERE session_id = $1) AS deleted,"
        " EXISTS (SELECT 1 FROM inbox WHERE consumer = $2 AND event_id = $3) AS processed",
        event.session_id,
        consumer,
        event.event_id,
    )
    assert row is not None
    return bool(row["deleted"]), bool(row["processed"])
