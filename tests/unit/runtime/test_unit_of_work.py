"""The unit of work writes its outbox rows and notifications in one statement at its end, with
a store's last write when there is one; an optimistic one opens no transaction and writes
once; PostgreSQL's refusals become their exceptions; a reading unit of work refuses to write
(no servers: a fake connection records the statements)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from parley_contracts import SessionDeleted, Subjects
from parley_runtime import AlreadyProcessed, SessionGone, WriteConflict
from parley_runtime.refusals import REFUSED_PREFIX, refused
from parley_runtime.statements import FLUSH_SQL
from parley_runtime.uow import UnitOfWork, joined_unit_of_work, reading, unit_of_work


class FakeConnection:
    def __init__(self) -> None:
        self.executed: list[tuple[str, tuple[Any, ...]]] = []

    async def execute(self, sql: str, *args: Any) -> str:
        self.executed.append((sql, args))
        return "SELECT 1"

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any]:
        """A unit of work's last statement, recorded; it wrote no outbox row."""
        self.executed.append((sql, args))
        return {"ids": [], "event_ids": [], "woken": 0}


class FakePool:
    def __init__(self) -> None:
        self.conn = FakeConnection()

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeConnection]:
        yield self.conn


def _uow(conn: FakeConnection) -> UnitOfWork:
    return UnitOfWork(conn=conn, subjects=Subjects("t"), schema="probe")  # type: ignore[arg-type]


async def test_outbox_rows_and_notifications_are_written_in_one_statement_in_order() -> None:
    conn = FakeConnection()
    uow = _uow(conn)
    events = [SessionDeleted(session_id=uuid.uuid4(), user_id="alice") for _ in range(3)]
    for event in events:
        await uow.publish(event)
    uow.notify("replies", "m1")
    uow.notify("changes", "{}")
    assert conn.executed == []  # nothing before the end of the unit of work
    await uow.flush()
    [(sql, args)] = conn.executed
    assert sql == FLUSH_SQL
    assert args[0] == [e.event_id for e in events]
    assert args[3] == [e.to_json() for e in events]
    assert args[5] == "probe_outbox"
    assert (args[6], args[7]) == (["replies", "changes"], ["m1", "{}"])
    assert uow.published == events and not uow.pending


async def test_a_unit_of_work_with_nothing_to_write_sends_nothing() -> None:
    conn = FakeConnection()
    await _uow(conn).flush()
    assert conn.executed == []


async def test_a_reading_unit_of_work_refuses_to_publish() -> None:
    pool = FakePool()
    with pytest.raises(RuntimeError, match="cannot publish"):
        async with reading(pool, Subjects("t"), "probe") as uow:  # type: ignore[arg-type]
            await uow.publish(SessionDeleted(session_id=uuid.uuid4(), user_id="alice"))
    assert pool.conn.executed == []


async def test_a_last_write_goes_first_in_the_last_statement() -> None:
    conn = FakeConnection()
    uow = _uow(conn)
    await uow.write_last(["saved AS (UPDATE t SET a = $1 WHERE id = $2)"], "x", 7)
    event = SessionDeleted(session_id=uuid.uuid4(), user_id="alice")
    await uow.publish(event)
    assert conn.executed == []
    await uow.flush()
    [(sql, args)] = conn.executed
    assert sql.startswith("WITH saved AS (UPDATE t SET a = $1 WHERE id = $2), events AS (")
    assert "unnest($3::uuid[]" in sql and args[:3] == ("x", 7, [event.event_id])
    assert not uow.pending


async def test_what_a_last_write_does_then_is_evaluated_after_every_refusal() -> None:
    conn = FakeConnection()
    uow = _uow(conn)
    await uow.write_last(
        ["saved AS (UPDATE t SET a = $1 RETURNING 1)"], "x", guard="saved", then="done($1)"
    )
    await uow.flush()
    [(sql, _)] = conn.executed
    standing = sql[sql.index("SELECT CASE") :]
    assert standing.index("refuse_write('conflict')") < standing.index("ELSE done($1) END")


async def test_only_the_last_write_waits_and_a_joined_unit_sends_its_own_at_once() -> None:
    conn = FakeConnection()
    uow = _uow(conn)
    await uow.write_last(["a AS (DELETE FROM t WHERE id = $1)"], 1)
    await uow.write_last(["b AS (DELETE FROM t WHERE id = $1)"], 2)
    assert conn.executed == [("WITH a AS (DELETE FROM t WHERE id = $1) SELECT true AS standing", (1,))]

    batch = _uow(FakeConnection())
    async with joined_unit_of_work(conn, Subjects("t"), "probe", into=batch) as joined:  # type: ignore[arg-type]
        await joined.write_last(["c AS (DELETE FROM t WHERE id = $1)"], 3)
    assert conn.executed[-1] == ("WITH c AS (DELETE FROM t WHERE id = $1) SELECT true AS standing", (3,))
    assert not batch.pending


async def test_an_optimistic_unit_of_work_opens_no_transaction_and_writes_once() -> None:
    pool = FakePool()
    cause = SessionDeleted(session_id=uuid.uuid4(), user_id="alice")
    async with unit_of_work(
        pool, Subjects("t"), "probe", consumer="c", cause=cause, optimistic=True  # type: ignore[arg-type]
    ) as uow:
        await uow.write_last(["saved AS (UPDATE t SET v = 2 WHERE v = $1 RETURNING 1)"], 1,
                             guard="saved")  # fmt: skip
        with pytest.raises(RuntimeError, match="writes once"):
            await uow.write_last(["again AS (DELETE FROM t)"])
    [(sql, args)] = pool.conn.executed  # no BEGIN, no early inbox mark, no COMMIT
    assert sql.startswith("WITH saved AS (UPDATE t") and "INSERT INTO inbox" in sql
    assert "THEN refuse_write('conflict')" in sql and "THEN refuse_write('gone')" in sql
    assert args[:3] == (1, "c", cause.event_id)


def test_a_refusal_of_postgresql_means_its_exception() -> None:
    cause = SessionDeleted(session_id=uuid.uuid4(), user_id="alice")

    def raised(reason: str) -> Exception | None:
        return refused(asyncpg.RaiseError(f"{REFUSED_PREFIX}{reason}"), ("c", cause))

    assert isinstance(raised("conflict"), WriteConflict)
    assert isinstance(raised("duplicate"), AlreadyProcessed)
    assert isinstance(raised("gone"), SessionGone)
    assert refused(asyncpg.RaiseError(f"{REFUSED_PREFIX}gone"), None) is None  # no mark, no gone
    assert refused(asyncpg.RaiseError("something else"), ("c", cause)) is None
    assert refused(ValueError("no"), None) is None
