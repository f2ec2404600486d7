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
from parley_contracts import SessionDeleted, Subjects
from parley_runtime.batching import TransactionBatcher
from parley_runtime.delivery import Duplicate, Failed, Handled, Outcome
from parley_runtime.handlers import HandlerContext
from parley_runtime.uow import AlreadyProcessed


class FakeConnection:
    def __init__(self, log: list[str]) -> None:
        self.log = log

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
    def __init__(self) -> None:
        self.log: list[str] = []
        self.connection = FakeConnection(self.log)

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeConnection]:
        yield self.connection


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
        self.calls.append((event.session_id, ctx.conn, bound))
        if event.session_id in self.raises:
            raise self.raises[event.session_id]

    async def handle_alone(
        self, handler: Any, event: SessionDeleted, ctx: HandlerContext
    ) -> Outcome:
        assert ctx.conn is None  # its own transaction, not the batch's
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
    batcher = TransactionBatcher("probe", recorder.handle_alone, max_events=64)
    events = _events(5)
    outcomes = await _submit_all(batcher, recorder, pool, events)
    assert outcomes == [Handled()] * 5
    assert pool.log == ["begin", "commit"]
    assert {conn for _, conn, _ in recorder.calls} == {pool.connection}
    assert recorder.alone == []


async def test_each_handler_runs_in_its_submitters_context_in_session_order() -> None:
    pool, recorder = FakePool(), Recorder()
    batcher = TransactionBatcher("probe", recorder.handle_alone, max_events=64)
    await _submit_all(batcher, recorder, pool, _events(6))
    sessions = [sid for sid, _, _ in recorder.calls]
    assert sessions == sorted(sessions)
    assert all(bound == str(sid) for sid, _, bound in recorder.calls)


async def test_a_failing_event_rolls_the_batch_back_and_each_event_is_handled_alone() -> None:
    pool, recorder = FakePool(), Recorder()
    batcher = TransactionBatcher("probe", recorder.handle_alone, max_events=64)
    events = _events(4)
    recorder.raises[events[2].session_id] = RuntimeError("boom")
    outcomes = await _submit_all(batcher, recorder, pool, events)
    assert pool.log == ["begin", "rollback"]
    assert sorted(recorder.alone) == sorted(e.session_id for e in events)
    assert outcomes == [Handled(), Handled(), Failed("boom"), Handled()]


async def test_a_duplicate_settles_inside_the_batch() -> None:
    pool, recorder = FakePool(), Recorder()
    batcher = TransactionBatcher("probe", recorder.handle_alone, max_events=64)
    events = _events(3)
    recorder.raises[events[1].session_id] = AlreadyProcessed("seen")
    outcomes = await _submit_all(batcher, recorder, pool, events)
    assert outcomes == [Handled(), Duplicate(), Handled()]
    assert pool.log == ["begin", "commit"] and recorder.alone == []


async def test_batches_hold_at_most_max_events() -> None:
    pool, recorder = FakePool(), Recorder()
    batcher = TransactionBatcher("probe", recorder.handle_alone, max_events=2)
    outcomes = await _submit_all(batcher, recorder, pool, _events(5))
    assert outcomes == [Handled()] * 5
    assert pool.log == ["begin", "commit"] * 3


async def test_one_event_per_batch_means_no_batching() -> None:
    pool, recorder = FakePool(), Recorder()
    batcher = TransactionBatcher("probe", recorder.handle_alone, max_events=1)
    events = _events(2)
    assert await _submit_all(batcher, recorder, pool, events) == [Handled()] * 2
    assert pool.log == [] and sorted(recorder.alone) == sorted(e.session_id for e in events)
