"""The inbox beyond one unit of work: marking a batch's events in one statement, and reading
where an event stands before its handler runs (see :mod:`parley_runtime.uow` for the mark of
one unit of work)."""

from __future__ import annotations

import enum
from collections.abc import Sequence

import asyncpg
from parley_contracts import Event

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
    :meth:`~parley_runtime.uow.UnitOfWork.mark_processed`; returns each event's
    :class:`Standing`, in order."""
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
