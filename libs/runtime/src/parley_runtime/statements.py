"""The SQL of a unit of work's own statements: its inbox mark, and the last statement, which
writes its outbox rows, sends its notifications and may carry its inbox mark and the last write
of a store (see :class:`~parley_runtime.uow.UnitOfWork`).

The parts are common table expressions (CTEs) numbered from a given parameter, so that one
statement can hold several: PostgreSQL runs every data-modifying CTE of a statement once, to
completion, on one snapshot, whether the statement reads its output or not
(https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import NamedTuple

from parley_contracts import Event


class OutboxRow(NamedTuple):
    """One row of a schema's outbox: an event to publish on ``subject``, ``id`` its place in
    the order they were written, ``trace_context`` its W3C trace headers as JSON, or None."""

    id: int
    event_id: uuid.UUID
    event_type: str
    subject: str
    payload: bytes
    trace_context: str | None


def outbox_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel that wakes the leading outbox relay of ``schema``:
    ``<schema>_outbox``."""
    return f"{schema}_outbox"


def write_ctes(p: int) -> str:
    """The outbox rows of a unit of work (parameters ``$p``..``$p+4``, in the order published;
    a duplicate event id is ignored) and the notifications it sends: one wake-up of the outbox
    relay on channel ``$p+5`` if a row was written (none when it is NULL: the rows are handed
    to the relay in the process), then its own (``$p+6`` channels, ``$p+7`` payloads), as
    CTEs. PostgreSQL delivers the notifications at commit."""
    return (
        f"events AS (SELECT * FROM unnest(${p}::uuid[], ${p + 1}::text[], ${p + 2}::text[],"
        f" ${p + 3}::bytea[], ${p + 4}::jsonb[]) WITH ORDINALITY"
        " AS e(event_id, event_type, subject, payload, trace_context, n)),"
        " written AS (INSERT INTO outbox (event_id, event_type, subject, payload, trace_context)"
        " SELECT event_id, event_type, subject, payload, trace_context FROM events ORDER BY n"
        " ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id),"
        f" woken AS (SELECT pg_notify(${p + 5}, '') FROM (SELECT 1 FROM written LIMIT 1) AS w"
        f" WHERE ${p + 5}::text IS NOT NULL UNION ALL SELECT pg_notify(channel, payload)"
        f" FROM unnest(${p + 6}::text[], ${p + 7}::text[]) AS n(channel, payload))"
    )


#: What :func:`write_ctes` did: how many notifications it sent, and the ids and event ids of
#: the outbox rows it wrote (a duplicate event id writes none), in the order written.
WRITTEN = (
    "(SELECT count(*) FROM woken) AS woken, ARRAY(SELECT id FROM written ORDER BY id) AS ids,"
    " ARRAY(SELECT event_id FROM written ORDER BY id) AS event_ids"
)


def mark_ctes(p: int) -> str:
    """The inbox mark of one event as CTEs (parameters ``$p``..``$p+4``, :func:`mark_args`):
    not written when a deleted session refuses the event; a duplicate is ignored."""
    return (
        f"gone AS (SELECT ${p + 3}::boolean AND EXISTS (SELECT 1 FROM deleted_sessions"
        f" WHERE session_id = ${p + 4}) AS deleted),"
        " mark AS (INSERT INTO inbox (consumer, event_id, event_type)"
        f" SELECT ${p}, ${p + 1}, ${p + 2} FROM gone WHERE NOT gone.deleted"
        " ON CONFLICT DO NOTHING RETURNING true)"
    )


#: What :func:`mark_ctes` did: ``(deleted, marked)``.
MARKED = "(SELECT deleted FROM gone) AS deleted, EXISTS (SELECT 1 FROM mark) AS marked"
#: Marks one event; one row: ``(deleted, marked)``.
MARK_SQL = f"WITH {mark_ctes(1)} SELECT {MARKED}"


def mark_args(consumer: str, event: Event) -> tuple[object, ...]:
    """The five parameters of :func:`mark_ctes`: a ``session.deleted`` event is marked even
    though its session is deleted."""
    return (
        consumer,
        event.event_id,
        event.event_type,
        event.event_type != "session.deleted",
        event.session_id,
    )


@dataclass(frozen=True)
class LastWrite:
    """A store's write left to the last statement of its unit of work: ``ctes``, data-modifying
    CTEs (``"name AS (INSERT ...)"``, names other than those of this module's CTEs) whose
    parameters are ``$1``..``$len(args)``, and their ``args``. ``guard`` names one of them
    that must return a row (say, an ``UPDATE ... WHERE version = $n RETURNING 1``): when it
    returns none, the statement is refused (:func:`refusals`) and nothing of it is written.
    ``then``, an SQL expression over the same parameters, is evaluated only when nothing
    refused the statement (say, to release a lock the write hands over); its value is the
    row's ``standing``. It runs before the statement ends: data-modifying CTEs the row does not
    read, and the outbox rows, are written after it, and the commit comes last, so a failure
    there rolls the writes back but not what ``then`` did outside the transaction."""

    ctes: tuple[str, ...]
    args: tuple[object, ...]
    guard: str | None = None
    then: str | None = None

    @property
    def alone(self) -> str:
        """The write as a statement of its own (refused as :func:`refusals` says)."""
        standing = refusals(self.guard, marked=False, then=self.then)
        return f"WITH {', '.join(self.ctes)} SELECT {standing}"


def refusals(guard: str | None, *, marked: bool, then: str | None = None) -> str:
    """The selected column ``standing`` of a last statement: it calls ``refuse_write(reason)``
    (a function of the chassis migrations, which raises ``parley refused: <reason>``, SQLSTATE
    ``P0001``) when the inbox mark found the session deleted (``gone``) or the event handled
    (``duplicate``), if ``marked``, or when the CTE ``guard`` returned no row (``conflict``).
    The error ends the statement, so a unit of work without a transaction writes nothing
    either (its statement is atomic); else ``standing`` is true, or the value of ``then``,
    which ``CASE`` evaluates only then (after the checks and the CTEs they read).

    Source: PostgreSQL, Conditional Expressions, ``CASE`` ("subexpressions that are not needed
    to determine the result are not evaluated")."""
    checks = []
    if marked:
        checks.append("(SELECT deleted FROM gone) THEN refuse_write('gone')")
        checks.append("NOT EXISTS (SELECT 1 FROM mark) THEN refuse_write('duplicate')")
    if guard is not None:
        checks.append(f"NOT EXISTS (SELECT 1 FROM {guard}) THEN refuse_write('conflict')")
    value = then or "true"
    if not checks:
        return f"{value} AS standing"
    whens = " ".join(f"WHEN {check}" for check in checks)
    return f"CASE {whens} ELSE {value} END AS standing"


def last_statement(last: LastWrite | None, *, marked: bool) -> str:
    """The last statement of a unit of work: ``last``'s CTEs (their parameters first), then
    the inbox mark's if ``marked``, then :func:`write_ctes`'. One row: ``standing``
    (:func:`refusals`: a refused statement raises instead), then :data:`WRITTEN`."""
    parts: list[str] = list(last.ctes) if last else []
    p = 1 + (len(last.args) if last else 0)
    if marked:
        parts.append(mark_ctes(p))
        p += 5
    parts.append(write_ctes(p))
    standing = refusals(
        last.guard if last else None, marked=marked, then=last.then if last else None
    )
    return f"WITH {', '.join(parts)} SELECT {standing}, {WRITTEN}"


#: The last statement of a unit of work that has only outbox rows and notifications to write.
FLUSH_SQL = last_statement(None, marked=False)
