"""The unit of work: one database transaction holding a state change, its outbox events and
the inbox mark of the event that caused it (after cosmicpython's "Unit of Work" pattern).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
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


def _write_ctes(p: int) -> str:
    """The outbox rows of a unit of work (parameters ``$p``..``$p+4``, in the order published;
    a duplicate event id is ignored) and the notifications it sends: one wake-up (``$p+5``) of
    the outbox relay if a row was written, then its own (``$p+6`` channels, ``$p+7``
    payloads), as CTEs. PostgreSQL delivers the notifications at commit."""
    return (
        f"events AS (SELECT * FROM unnest(${p}::uuid[], ${p + 1}::text[], ${p + 2}::text[],"
        f" ${p + 3}::bytea[], ${p + 4}::jsonb[]) WITH ORDINALITY"
        " AS e(event_id, event_type, subject, payload, trace_context, n)),"
        " written AS (INSERT INTO outbox (event_id, event_type, subject, payload, trace_context)"
        " SELECT event_id, event_type, subject, payload, trace_context FROM events ORDER BY n"
        " ON CONFLICT (event_id) DO NOTHING RETURNING 1),"
        f" woken AS (SELECT pg_notify(${p + 5}, '') FROM (SELECT 1 FROM written LIMIT 1) AS w"
        " UNION ALL SELECT pg_notify(channel, payload)"
        f" FROM unnest(${p + 6}::text[], ${p + 7}::text[]) AS n(channel, payload))"
    )


#: The inbox mark of one event as CTEs: ``$1`` consumer, ``$2`` event id, ``$3`` event type,
#: ``$4`` whether a deleted session refuses it, ``$5`` session id (see :func:`_mark_args`).
_MARK_CTES = (
    "gone AS (SELECT $4::boolean AND EXISTS (SELECT 1 FROM deleted_sessions"
    " WHERE session_id = $5) AS deleted),"
    " mark AS (INSERT INTO inbox (consumer, event_id, event_type)"
    " SELECT $1, $2, $3 FROM gone WHERE NOT gone.deleted ON CONFLICT DO NOTHING RETURNING true)"
)
_MARKED = "(SELECT deleted FROM gone) AS deleted, EXISTS (SELECT 1 FROM mark) AS marked"
#: Marks one event; one row: ``(deleted, marked)``.
MARK_SQL = f"WITH {_MARK_CTES} SELECT {_MARKED}"
#: The one statement that ends a unit of work: its outbox rows and notifications.
FLUSH_SQL = f"WITH {_write_ctes(1)} SELECT count(*) FROM woken"
#: :data:`FLUSH_SQL` with the inbox mark of the unit of work's cause (:data:`MARK_SQL`'s
#: parameters first); one row: ``(deleted, marked, woken)``.
MARK_AND_FLUSH_SQL = (
    f"WITH {_MARK_CTES}, {_write_ctes(6)} SELECT {_MARKED}, (SELECT count(*) FROM woken) AS woken"
)


def _mark_args(consumer: str, event: Event) -> tuple[object, ...]:
    """The parameters of :data:`MARK_SQL`: a ``session.deleted`` event is marked even though
    its session is deleted."""
    return (
        consumer,
        event.event_id,
        event.event_type,
        event.event_type != "session.deleted",
        event.session_id,
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
        row = await self.conn.fetchrow(MARK_AND_FLUSH_SQL, *_mark_args(consumer, event), *writes)
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
        row = await self.conn.fetchrow(MARK_SQL, *_mark_args(consumer, event))
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
    for a handler that already read whether the event is a duplicate or of a deleted session,
    or that did nothing with an effect outside the transaction before (its writes before the
    mark are rolled back if the event is refused there).

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
