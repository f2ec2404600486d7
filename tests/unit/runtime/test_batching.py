"""A batch of events in one transaction (no servers: a fake pool records the transactions).

Events submitted together share one transaction; one that fails rolls the batch back and
every event of it is handled alone; duplicates settle inside the batch; each handler runs in
its submitter's context; sessions are taken in id order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from parley_contracts import Event, SessionDeleted, Subjects
from parley_runtime import AlreadyProcessed
from parley_runtime.batching import TransactionBatcher
from parley_runtime.delivery import Dropped, Duplicate, Failed, Handled, Outcome
from parley_runtime.handlers import HandlerContext
from parley_runtime.inbox import Standing


class FakeConnection:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.executed: list[tuple[Any, ...]] = []

    async def execute(self, sql: str, *args: Any) -> None:
        self.log.append("execute")
        self.executed.append(args)

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any]:
        """A unit of work's last statement: logged as an execute; it wrote no outbox row."""
        await self.execute(sql, *args)
        return {"ids": [], "event_ids": [], "woken": 0}

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        self.log.append("begin")
        try:
            yield
        except BaseException:
            self.log.append("rollback")
            raise
        self.log.append("commit")


class FakePool:
    """A pool of one fake connection; ``standing`` says how the inbox takes an event's mark
    (newly marked unless listed)."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.connection = FakeConnection(self.log)
        self.standing: dict[uuid.UUID, Standing] = {}

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeConnection]:
        yield self.connection

    async def mark(self, conn: Any, consumer: str, events: Any) -> list[Standing]:
        assert conn is self.connection
        self.log.append(f"mark {len(events)}")
        return [self.standing.get(e.event_id, Standing.MARKED) for e in events]


def _batcher(pool: FakePool, recorder: Recorder, max_events: int = 64) -> TransactionBatcher:
    return TransactionBatcher("probe", recorder.handle_alone, max_events, mark=pool.mark)


def _ctx(pool: FakePool) -> HandlerContext:
    return HandlerContext(
        consumer="probe",
        schema="probe",
        subjects=Subjects("t"),
        pool=pool,  # type: ignore[arg-type]
        broker=None,  # type: ignore[arg-type]
        delivery=1,
    )


def _events(n: int) -> list[SessionDeleted]:
    return [SessionDeleted(session_id=uuid.uuid4(), user_id="alice") for _ in range(n)]


class Recorder:
    """A handler recording (session, connection, bound session var) per call; raises what
    ``raises`` maps a session to."""

    def __init__(self) -> None:
        self.calls: list[tuple[uuid.UUID, object, object]] = []
        self.alone: list[uuid.UUID] = []
        self.raises: dict[uuid.UUID, Exception] = {}

    async def handle(self, event: SessionDeleted, ctx: HandlerContext) -> None:
        bound = structlog.contextvars.get_contextvars().get("session_id")
        self.calls.append((event.session_id, ctx.batch and ctx.batch.conn, bound))
        if event.session_id in self.raises:
            raise self.raises[event.session_id]

    async def handle_alone(
        self, handler: Any, event: SessionDeleted, ctx: HandlerContext
    ) -> Outcome:
        assert ctx.batch is None  # its own transaction, not the batch's
        self.alone.append(event.session_id)
        return Failed("boom") if event.session_id in self.raises else Handled()


async def _submit_all(
    batcher: TransactionBatcher, recorder: Recorder, pool: FakePool, events: list[SessionDeleted]
) -> list[Outcome]:
    async def one(event: SessionDeleted) -> Outcome:
        with structlog.contextvars.bound_contextvars(session_id=str(event.session_id)):
            return await batcher.submit(recorder.handle, event, _ctx(pool))

    return list(await asyncio.gather(*(one(e) for e in events)))


async def test_events_submitted_together_share_one_transaction() -> None:
    pool, recorder = FakePool(), Recorder()
    batcher = _batcher(pool, recorder)
    events = _events(5)
    outcomes = await _submit_all(batcher, recorder, pool, events)
    assert outcomes == [Handled()] * 5
    assert pool.log == ["begin", "mark 5", "commit"]
    assert {conn for _, conn, _ in recorder.calls} == {pool.connection}
    assert recorder.alone == []


async def test_each_handler_runs_in_its_submitters_context_in_session_order() -> None:
    pool, recorder = FakePool(), Recorder()
    batcher = _batcher(pool, recorder)
    await _submit_all(batcher, recorder, pool, _events(6))
    sessions = [sid for sid, _, _ in recorder.calls]
    assert sessions == sorted(sessions)
    assert all(bound == str(sid) for sid, _, bound in recorder.calls)


async def test_a_failing_event_rolls_the_batch_back_and_each_event_is_handled_alone() -> None:
    pool, recorder = FakePool(), Recorder()
    batcher = _batcher(pool, recorder)
    events = _events(4)
    recorder.raises[events[2].session_id] = RuntimeError("boom")
    outcomes = await _submit_all(batcher, recorder, pool, events)
    assert pool.log == ["begin", "mark 4", "rollback"]
    assert sorted(recorder.alone) == sorted(e.session_id for e in events)
    assert outcomes == [Handled(), Handled(), Failed("boom"), Handled()]


async def test_a_duplicate_settles_inside_the_batch() -> None:
    pool, recorder = FakePool(), Recorder()
    batcher = _batcher(pool, recorder)
    events = _events(3)
    recorder.raises[events[1].session_id] = AlreadyProcessed("seen")
    outcomes = await _submit_all(batcher, recorder, pool, events)
    assert outcomes == [Handled(), Duplicate(), Handled()]
    assert pool.log == ["begin", "mark 3", "commit"] and recorder.alone == []


async def test_events_the_inbox_already_holds_or_of_deleted_sessions_do_not_run() -> None:
    pool, recorder = FakePool(), Recorder()
    events = _events(3)
    pool.standing[events[0].event_id] = Standing.DUPLICATE
    pool.standing[events[2].event_id] = Standing.GONE
    outcomes = await _submit_all(_batcher(pool, recorder), recorder, pool, events)
    assert outcomes == [Duplicate(), Handled(), Dropped()]
    assert [sid for sid, _, _ in recorder.calls] == [events[1].session_id]
    assert pool.log == ["begin", "mark 3", "commit"] and recorder.alone == []


async def test_the_units_of_work_of_a_batch_write_their_outbox_rows_in_one_statement() -> None:
    pool = FakePool()

    async def handle(event: Event, ctx: HandlerContext) -> None:
        assert ctx.batch is not None and ctx.batch.conn is pool.connection
        async with ctx.unit_of_work(event) as uow:  # marked by the batch: no statement
            await uow.publish(event)
            uow.notify("probe_changes", str(event.session_id))

    batcher = _batcher(pool, Recorder())
    events = _events(3)
    await asyncio.gather(*(batcher.submit(handle, e, _ctx(pool)) for e in events))
    assert pool.log == ["begin", "mark 3", "execute", "commit"]
    (args,) = pool.connection.executed
    assert sorted(args[0]) == sorted(e.event_id for e in events)  # the outbox rows' event ids
    assert sorted(args[-1]) == sorted(str(e.session_id) for e in events)  # the notifications


async def test_batches_hold_at_most_max_events() -> None:
    pool, recorder = FakePool(), Recorder()
    batcher = _batcher(pool, recorder, max_events=2)
    outcomes = await _submit_all(batcher, recorder, pool, _events(5))
    assert outcomes == [Handled()] * 5
    assert pool.log == ["begin", "mark 2", "commit"] * 2  # the fifth, left alone, went alone
    assert len(recorder.alone) == 1


async def test_a_batch_of_one_event_is_handled_alone() -> None:
    pool, recorder = FakePool(), Recorder()
    batcher = _batcher(pool, recorder, max_events=8)
    [event] = _events(1)
    assert await _submit_all(batcher, recorder, pool, [event]) == [Handled()]
    assert pool.log == [] and recorder.alone == [event.session_id]


async def test_one_event_per_batch_means_no_batching() -> None:
    pool, recorder = FakePool(), Recorder()
    batcher = _batcher(pool, recorder, max_events=1)
    events = _events(2)
    assert await _submit_all(batcher, recorder, pool, events) == [Handled()] * 2
    assert pool.log == [] and sorted(recorder.alone) == sorted(e.session_id for e in events)
