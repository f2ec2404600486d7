"""The unit of work: one database transaction (or, optimistic, one statement) holding a state
change, its outbox events and the inbox mark of the event that caused it (after cosmicpython's
"Unit of Work" pattern).
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass, field

import asyncpg
import structlog
from parley_contracts import Event, Subjects

from .refusals import raised_as_meant, refuse, write_alone
from .statements import MARK_SQL, LastWrite, OutboxRow, last_statement, mark_args, outbox_channel
from .tracing import current_context

log = structlog.get_logger(__name__)


#: Takes a committed unit of work's outbox rows to publish them (an outbox relay's, in-process).
Handoff = Callable[[list[OutboxRow]], None]


@dataclass
class UnitOfWork:
    """Work on ``conn``, an open transaction (but see ``optimistic``) that commits or rolls back
    as one: events added with :meth:`publish` reach the outbox and notifications added with
    :meth:`notify` are sent, both at its end; use it through :func:`unit_of_work`. With
    ``handoff`` (the relay's, :meth:`~parley_runtime.outbox.OutboxRelay.handoff`), the outbox
    rows it wrote go to it once committed, published at once, and no ``NOTIFY`` is sent.

    An ``optimistic`` unit of work has no transaction: it reads committed rows on ``conn``, and
    all it writes goes into its last statement (one :meth:`write_last`, guarded on what it
    read, with the outbox rows and the late inbox mark), applied or refused whole. No
    ``BEGIN``, no ``COMMIT``, no row lock held between statements.
    """

    conn: asyncpg.Connection
    subjects: Subjects
    schema: str
    published: list[Event] = field(default_factory=list)
    _rows: list[tuple[uuid.UUID, str, str, bytes, str | None]] = field(default_factory=list)
    _notifications: list[tuple[str, str]] = field(default_factory=list)
    _after_commit: list[Callable[[], None]] = field(default_factory=list)
    _late_mark: tuple[str, Event] | None = None
    _last: LastWrite | None = None
    handoff: Handoff | None = None
    optimistic: bool = False
    _written: list[OutboxRow] = field(default_factory=list)

    async def publish(self, event: Event) -> None:
        """Put ``event`` in this transaction's outbox (a duplicate event id is ignored), with the
        current trace context (see :mod:`parley_runtime.tracing`). The row is written when the
        unit of work ends, with the others, in one statement; once committed, the rows go to
        ``handoff``, or, without one, that statement wakes the schema's leading outbox relay
        (PostgreSQL delivers the notification at commit, once per transaction)."""
        context = current_context()
        trace = json.dumps(context) if context else None
        self._rows.append(
            (event.event_id, event.event_type, self.subjects.of(event), event.to_json(), trace)
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
        written, self._written = self._written, []
        if written and self.handoff is not None:
            callbacks.insert(0, functools.partial(self.handoff, written))
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
        """Whether outbox rows, notifications, a late inbox mark or a last write wait for
        :meth:`flush`."""
        return bool(self._rows or self._notifications or self._late_mark or self._last)

    def mark_late(self, consumer: str, event: Event) -> None:
        """Mark ``event`` in ``consumer``'s inbox in :meth:`flush`'s statement, at the end of
        the unit of work, instead of at its start (see :func:`unit_of_work`'s ``late_mark``)."""
        self._late_mark = (consumer, event)

    async def write_last(
        self, ctes: Sequence[str], *args: object, guard: str | None = None, then: str | None = None
    ) -> None:
        """Leave a store's write to :meth:`flush`'s statement: ``ctes`` are data-modifying CTEs
        (``"name AS (UPDATE ...)"``) whose parameters are ``$1``..``$n`` = ``args``, ``guard``
        the name of one that must return a row, ``then`` an expression evaluated last, only
        when the statement stands (see
        :class:`~parley_runtime.statements.LastWrite`). One round trip fewer, for a write
        nothing in the unit of work reads after it. One write waits at most: an earlier one
        is sent at once (so two never touch one row in one statement).

        Raises:
            RuntimeError: an optimistic unit of work has a write waiting already (it has one).
            WriteConflict: the earlier write sent now found its guard's row changed.
        """
        if self.optimistic and self._last is not None:
            raise RuntimeError("an optimistic unit of work writes once, in its last statement")
        await self.send_last()
        self._last = LastWrite(tuple(ctes), args, guard, then)

    async def send_last(self) -> None:
        """Send the write that waits for :meth:`flush`, if any, at once.

        Raises:
            WriteConflict: its guard's row changed (the transaction must then roll back).
        """
        last, self._last = self._last, None
        if last is not None:
            await write_alone(self.conn, last)

    async def flush(self) -> None:
        """Write what waits (a store's last write, the late inbox mark of :meth:`mark_late`,
        the outbox rows) and send the notifications gathered so far, in one statement (none
        when there is nothing to write). Called at the end of the unit of work.

        Raises:
            AlreadyProcessed, SessionGone: as :meth:`mark_processed`, for a late mark.
            WriteConflict: the last write's guard found its row changed.
            In each case the statement wrote nothing (a transaction must then roll back: the
            unit of work's earlier writes are in it).
        """
        if not self.pending:
            return
        rows, self._rows = self._rows, []
        notifications, self._notifications = self._notifications, []
        late, self._late_mark = self._late_mark, None
        last, self._last = self._last, None
        sql = last_statement(last, marked=late is not None)
        args = (
            *(last.args if last else ()),
            *(mark_args(*late) if late else ()),
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
            [r[3] for r in rows],
            [r[4] for r in rows],
            None if self.handoff is not None else outbox_channel(self.schema),
            [n[0] for n in notifications],
            [n[1] for n in notifications],
        )
        with raised_as_meant(late):
            row = await self.conn.fetchrow(sql, *args)
        assert row is not None
        ids = dict(zip(row["event_ids"], row["ids"], strict=True))
        self._written += [OutboxRow(ids[r[0]], *r) for r in rows if r[0] in ids]

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
        row = await self.conn.fetchrow(MARK_SQL, *mark_args(consumer, event))
        assert row is not None
        refuse(row["deleted"], row["marked"], consumer, event)


@asynccontextmanager
async def unit_of_work(
    pool: asyncpg.Pool,
    subjects: Subjects,
    schema: str,
    *,
    consumer: str | None = None,
    cause: Event | None = None,
    late_mark: bool = False,
    handoff: Handoff | None = None,
    optimistic: bool = False,
    on: asyncpg.Connection | None = None,
) -> AsyncIterator[UnitOfWork]:
    """Open a transaction (``optimistic``: none, see :class:`UnitOfWork`), its outbox rows
    handed to ``handoff`` once committed; on a connection of ``pool``, or on ``on``, one the
    caller holds (say, with a session-level lock its last statement hands over). With
    ``consumer`` and ``cause`` it first marks the inbox, or, with ``late_mark`` (always when
    optimistic), in its last statement with its outbox rows: one round trip fewer, for a
    handler that already read whether the event is a duplicate or of a deleted session, or did
    nothing with an effect before (an event refused there leaves nothing of the unit written).

    On a clean exit it writes the outbox rows and notifications (:meth:`UnitOfWork.flush`),
    commits (waking the outbox relay when events were published) and runs the after-commit
    callbacks.

    Raises:
        AlreadyProcessed: ``consumer`` already processed ``cause`` (nothing is written).
        SessionGone: ``cause``'s session was deleted (nothing is written).
        WriteConflict: the guarded last write found its row changed (nothing is written).
    """
    opened = functools.partial(
        joined_unit_of_work, subjects=subjects, schema=schema, consumer=consumer, cause=cause,
        late_mark=late_mark, handoff=handoff, optimistic=optimistic,
    )  # fmt: skip
    async with pool.acquire() if on is None else nullcontext(on) as conn:
        if optimistic:
            async with opened(conn) as uow:
                yield uow
        else:
            async with conn.transaction(), opened(conn) as uow:
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
    handoff: Handoff | None = None,
    optimistic: bool = False,
) -> AsyncIterator[UnitOfWork]:
    """A unit of work inside the transaction already open on ``conn`` (the one of
    :func:`unit_of_work`, or a batch's; ``optimistic``: none, see :class:`UnitOfWork`): it
    commits or rolls back with that transaction, not on its own. With ``consumer`` and
    ``cause`` it first marks the inbox (``late_mark``: at its end, as in :func:`unit_of_work`;
    not with ``into``); at a clean exit it writes its outbox rows and notifications
    (:meth:`UnitOfWork.flush`), or, with ``into``, hands them to that unit of work
    (:meth:`UnitOfWork.take`) to be written with its own.

    Raises:
        AlreadyProcessed: ``consumer`` already processed ``cause`` (nothing is written).
        SessionGone: ``cause``'s session was deleted (nothing is written).
        WriteConflict: the guarded last write found its row changed (nothing is written).
        ValueError: ``optimistic`` with ``into``.
    """
    if optimistic and into is not None:
        raise ValueError("an optimistic unit of work cannot join another's transaction")
    uow = UnitOfWork(conn, subjects, schema, handoff=handoff, optimistic=optimistic)
    if consumer is not None and cause is not None:
        if (late_mark or optimistic) and into is None:  # an optimistic one writes once, last
            uow.mark_late(consumer, cause)
        else:
            await uow.mark_processed(consumer, cause)
    yield uow
    if into is not None:
        await uow.send_last()
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
