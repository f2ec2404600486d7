"""The unit of work: one database transaction holding a state change, its outbox events and
the inbox mark of the event that caused it (after cosmicpython's "Unit of Work" pattern).
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import asyncpg
import structlog
from parley_contracts import Event, Subjects

from .tracing import current_context

log = structlog.get_logger(__name__)


#: The Postgres NOTIFY channel that wakes the outbox relay of a schema: ``<schema>_outbox``.
def outbox_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel of ``schema``'s outbox."""
    return f"{schema}_outbox"


class AlreadyProcessed(Exception):
    """The inbox already holds this consumer's mark for the event: the effect exists; ack it."""


class SessionGone(Exception):
    """The event's session was deleted: its effect must not be written; ack it unhandled."""


#: The outbox rows of a unit of work ($1..$5, in the order published; a duplicate event id is
#: ignored) and the notifications it sends: one wake-up ($6) of the outbox relay if a row was
#: written, then its own ($7 channels, $8 payloads). PostgreSQL delivers them at commit.
_WRITE_CTES = (
    "events AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[],"
    " $5::jsonb[]) WITH ORDINALITY AS e(event_id, event_type, subject, payload, trace_context, n)),"
    " written AS (INSERT INTO outbox (event_id, event_type, subject, payload, trace_context)"
    " SELECT event_id, event_type, subject, payload, trace_context FROM events ORDER BY n"
    " ON CONFLICT (event_id) DO NOTHING RETURNING 1),"
    " woken AS (SELECT pg_notify($6, '') FROM (SELECT 1 FROM written LIMIT 1) AS w"
    " UNION ALL SELECT pg_notify(channel, payload)"
    " FROM unnest($7::text[], $8::text[]) AS n(channel, payload))"
)

#: The one statement that ends a unit of work: :data:`_WRITE_CTES`.
FLUSH_SQL = f"WITH {_WRITE_CTES} SELECT count(*) FROM woken"

#: :data:`FLUSH_SQL` with the inbox mark of the unit of work's cause, under the rules of
#: :meth:`UnitOfWork.mark_processed` ($9 consumer, $10 event id, $11 event type, $12 whether
#: a deleted session refuses it, $13 session id); one row: ``(deleted, marked)``.
MARK_AND_FLUSH_SQL = (
    "WITH gone AS (SELECT $12::boolean AND EXISTS (SELECT 1 FROM deleted_sessions"
    " WHERE session_id = $13) AS deleted),"
    " mark AS (INSERT INTO inbox (consumer, event_id, event_type)"
    " SELECT $9, $10, $11 FROM gone WHERE NOT gone.deleted ON CONFLICT DO NOTHING RETURNING true),"
    f" {_WRITE_CTES}"
    " SELECT (SELECT deleted FROM gone) AS deleted, EXISTS (SELECT 1 FROM mark) AS marked,"
    " (SELECT count(*) FROM woken) AS woken"
)


@dataclass
class UnitOfWork:
    """An open transaction on ``conn``; events added with :meth:`publish` reach the outbox and
    notifications added with :meth:`notify` are sent, both at the end of the unit of work.

    Use it through :func:`unit_of_work`. Everything done on ``conn`` commits or rolls back together.
    """

    conn: asyncpg.Connection
    subjects: Subjects
    schema: str
    published: list[Event] = field(default_factory=list)
    _rows: list[tuple[uuid.UUID, str, str, bytes, str | None]] = field(default_factory=list)
    _notifications: list[tuple[str, str]] = field(default_factory=list)
    _after_commit: list[Callable[[], None]] = field(default_factory=list)
    _late_mark: tuple[str, Event] | None = None

    async def publish(self, event: Event) -> None:
        """Put ``event`` in this transaction's outbox (a duplicate event id is ignored), with the
        current trace context (see :mod:`parley_runtime.tracing`). The row is written when the
        unit of work ends, with the others, in one statement that also wakes the schema's outbox
        relay (PostgreSQL delivers that at commit, once per transaction)."""
        trace_context = current_context()
        self._rows.append(
            (
                event.event_id,
                event.event_type,
                self.subjects.of(event),
                event.to_json(),
                json.dumps(trace_context) if trace_context else None,
            )
        )
        self.published.append(event)

    def notify(self, channel: str, payload: str) -> None:
        """``NOTIFY channel, payload`` when the unit of work commits (sent with its outbox rows)."""
        self._notifications.append((channel, payload))

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (in this process, once) when the transaction has committed; never
        when it rolls back."""
        self._after_commit.append(callback)

    def committed(self) -> None:
        """Run the :meth:`after_commit` callbacks, in order (called by whoever committed the
        transaction); one that raises is logged and the others still run."""
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("an after-commit callback failed")

    def take(self, other: UnitOfWork) -> None:
        """Move ``other``'s outbox rows, notifications and after-commit callbacks, in order, to
        this unit of work, which writes and runs them with its own (a batch's, for each of its
        events')."""
        self._rows += other._rows
        self._notifications += other._notifications
        self._after_commit += other._after_commit
        other._rows, other._notifications, other._after_commit = [], [], []

    @property
    def pending(self) -> bool:
        """Whether outbox rows, notifications or a late inbox mark wait for :meth:`flush`."""
        return bool(self._rows or self._notifications or self._late_mark)

    def mark_late(self, consumer: str, event: Event) -> None:
        """Mark ``event`` in ``consumer``'s inbox in :meth:`flush`'s statement, at the end of
        the unit of work, instead of at its start (see :func:`unit_of_work`'s ``late_mark``)."""
        self._late_mark = (consumer, event)

    async def flush(self) -> None:
        """Write the outbox rows, send the notifications gathered so far and write a late
        inbox mark (:meth:`mark_late`), in one statement (none when there is nothing to write).
        Called at the end of the unit of work.

        Raises:
            AlreadyProcessed, SessionGone: as :meth:`mark_processed`, for a late mark (the
                transaction must then roll back: the unit of work's writes are in it).
        """
        if not self.pending:
            return
        rows, self._rows = self._rows, []
        notifications, self._notifications = self._notifications, []
        late, self._late_mark = self._late_mark, None
        writes = (
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
            [r[3] for r in rows],
            [r[4] for r in rows],
            outbox_channel(self.schema),
            [n[0] for n in notifications],
            [n[1] for n in notifications],
        )
        if late is None:
            await self.conn.execute(FLUSH_SQL, *writes)
            return
        consumer, event = late
        row = await self.conn.fetchrow(
            MARK_AND_FLUSH_SQL,
            *writes,
            consumer,
            event.event_id,
            event.event_type,
            event.event_type != "session.deleted",
            event.session_id,
        )
        assert row is not None
        _refuse(row["deleted"], row["marked"], consumer, event)

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
        _refuse(row["deleted"], row["marked"], consumer, event)


def _refuse(deleted: bool, marked: bool, consumer: str, event: Event) -> None:
    """Raise what an inbox mark's outcome means, if anything.

    Raises:
        SessionGone: ``deleted``: the event's session was deleted.
        AlreadyProcessed: not ``marked``: ``consumer`` processed ``event`` before.
    """
    if deleted:
        raise SessionGone(f"session {event.session_id} was deleted")
    if not marked:
        raise AlreadyProcessed(f"{consumer} already processed event {event.event_id}")


#: Marks a batch's events in one statement; a ``session.deleted`` event is marked even though
#: its session is deleted. One row per event, in the order given: ``(deleted, marked)``.
MARK_ALL_SQL = (
    "WITH batch AS (SELECT * FROM unnest($2::uuid[], $3::text[], $4::uuid[]) WITH ORDINALITY"
    " AS b(event_id, event_type, session_id, n)),"
    " standing AS (SELECT b.*, b.event_type <> 'session.deleted' AND EXISTS (SELECT 1"
    " FROM deleted_sessions d WHERE d.session_id = b.session_id) AS deleted FROM batch b),"
    " mark AS (INSERT INTO inbox (consumer, event_id, event_type)"
    " SELECT $1, event_id, event_type FROM standing WHERE NOT deleted ORDER BY n"
    " ON CONFLICT DO NOTHING RETURNING event_id)"
    " SELECT s.deleted, s.event_id IN (SELECT event_id FROM mark) AS marked"
    " FROM standing s ORDER BY s.n"
)


class Standing(enum.Enum):
    """Where an event stands once :func:`mark_all` tried to mark it."""

    MARKED = "marked"  #: newly marked: its handler runs
    DUPLICATE = "duplicate"  #: marked before: a redelivery whose effect is committed
    GONE = "gone"  #: its session was deleted: nothing is written


async def mark_all(
    conn: asyncpg.Connection, consumer: str, events: Sequence[Event]
) -> list[Standing]:
    """Mark ``events`` in ``consumer``'s inbox in one statement, in the transaction open on
    ``conn`` (a batch's, see :mod:`parley_runtime.batching`), with the rules of
    :meth:`UnitOfWork.mark_processed`; returns each event's :class:`Standing`, in order."""
    rows = await conn.fetch(
        MARK_ALL_SQL,
        consumer,
        [e.event_id for e in events],
        [e.event_type for e in events],
        [e.session_id for e in events],
    )
    return [
        Standing.GONE if r["deleted"] else Standing.MARKED if r["marked"] else Standing.DUPLICATE
        for r in rows
    ]


@asynccontextmanager
async def unit_of_work(
    pool: asyncpg.Pool,
    subjects: Subjects,
    schema: str,
    *,
    consumer: str | None = None,
    cause: Event | None = None,
    late_mark: bool = False,
) -> AsyncIterator[UnitOfWork]:
    """Open a transaction; with ``consumer`` and ``cause`` it first marks the inbox, or, with
    ``late_mark``, marks it in its last statement, with its outbox rows: one round trip fewer,
    for a handler that already read whether the event is a duplicate or of a deleted session
    (its writes before the mark are rolled back if it was refused after all).

    On a clean exit the outbox rows and notifications are written (:meth:`UnitOfWork.flush`),
    the transaction commits (which wakes the outbox relay when events were published) and the
    after-commit callbacks run.

    Raises:
        AlreadyProcessed: ``consumer`` already processed ``cause`` (nothing is written).
        SessionGone: ``cause``'s session was deleted (nothing is written).
    """
    async with pool.acquire() as conn:
        async with (
            conn.transaction(),
            joined_unit_of_work(
                conn, subjects, schema, consumer=consumer, cause=cause, late_mark=late_mark
            ) as uow,
        ):
            yield uow
        uow.committed()


@asynccontextmanager
async def joined_unit_of_work(
    conn: asyncpg.Connection,
    subjects: Subjects,
    schema: str,
    *,
    consumer: str | None = None,
    cause: Event | None = None,
    into: UnitOfWork | None = None,
    late_mark: bool = False,
) -> AsyncIterator[UnitOfWork]:
    """A unit of work inside the transaction already open on ``conn`` (the one of
    :func:`unit_of_work`, or a batch's): it commits or rolls back with that transaction, not on
    its own. With ``consumer`` and ``cause`` it first marks the inbox (``late_mark``: at its
    end, as in :func:`unit_of_work`; not with ``into``); at a clean exit it
    writes its outbox rows and notifications (:meth:`UnitOfWork.flush`), or, with ``into``,
    hands them to that unit of work (:meth:`UnitOfWork.take`) to be written with its own.

    Raises:
        AlreadyProcessed: ``consumer`` already processed ``cause`` (nothing is written).
        SessionGone: ``cause``'s session was deleted (nothing is written).
    """
    uow = UnitOfWork(conn=conn, subjects=subjects, schema=schema)
    if consumer is not None and cause is not None:
        if late_mark and into is None:
            uow.mark_late(consumer, cause)
        else:
            await uow.mark_processed(consumer, cause)
    yield uow
    if into is not None:
        into.take(uow)
    else:
        await uow.flush()


@asynccontextmanager
async def reading(pool: asyncpg.Pool, subjects: Subjects, schema: str) -> AsyncIterator[UnitOfWork]:
    """A unit of work for reads of one statement each: a connection without a transaction, so
    no ``BEGIN`` and ``COMMIT`` round trips. Each statement sees what was committed when it
    started (one statement, one snapshot; two statements may see two).

    Raises:
        RuntimeError: something was published or notified in it (nothing is written).
    """
    async with pool.acquire() as conn:
        uow = UnitOfWork(conn=conn, subjects=subjects, schema=schema)
        yield uow
        if uow.pending:
            raise RuntimeError("a reading unit of work cannot publish or notify")


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
