"""The unit of work writes its outbox rows and notifications in one statement at its end, and a
reading unit of work refuses to write (no servers: a fake connection records the statements)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from parley_contracts import SessionDeleted, Subjects
from parley_runtime.uow import FLUSH_SQL, UnitOfWork, reading


class FakeConnection:
    def __init__(self) -> None:
        self.executed: list[tuple[str, tuple[Any, ...]]] = []

    async def execute(self, sql: str, *args: Any) -> str:
        self.executed.append((sql, args))
        return "SELECT 1"


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
