"""A batch of events in one transaction, on real servers: events of different sessions ready
together share a transaction, each is still marked and handled once, and one that fails sends
its batch down the one-by-one path without costing the others their effect.
"""

from __future__ import annotations

import uuid

import asyncpg
from parley_contracts import SessionCreated, SessionDeleted, Subjects
from parley_runtime import HandlerContext
from parley_runtime.inbox import Standing, mark_all
from probe_service import probe, publish
from stack import Servers


async def _marked(servers: Servers, durable: str, events: list[SessionDeleted]) -> set[uuid.UUID]:
    """The events of ``events`` whose inbox mark ``durable`` committed."""
    conn = await asyncpg.connect(servers.database_url)
    try:
        rows = await conn.fetch(
            "SELECT event_id FROM probe.inbox WHERE consumer = $1 AND event_id = ANY($2::uuid[])",
            durable,
            [e.event_id for e in events],
        )
    finally:
        await conn.close()
    return {row["event_id"] for row in rows}


def _events(n: int) -> list[SessionDeleted]:
    return [SessionDeleted(session_id=uuid.uuid4(), user_id="batch") for _ in range(n)]


async def test_events_ready_together_share_a_transaction_and_are_each_handled_once(
    servers: Servers, js
) -> None:
    events = _events(20)
    mine = {e.session_id for e in events}
    transactions: dict[uuid.UUID, list[int]] = {}

    async def record(event: SessionDeleted, ctx: HandlerContext) -> None:
        if event.session_id not in mine:
            return
        async with ctx.unit_of_work(event) as uow:
            txid = await uow.conn.fetchval("SELECT txid_current()")
            transactions.setdefault(event.session_id, []).append(txid)

    async with probe(servers, js, record, batch=True) as (service, durable):
        await publish(service, *events)

    assert set(transactions) == mine
    assert all(len(txids) == 1 for txids in transactions.values())  # no batch rolled back
    shared = {txids[0] for txids in transactions.values()}
    assert len(shared) < len(events), "no two events shared a transaction"
    assert await _marked(servers, durable, events) == {e.event_id for e in events}


async def test_a_failing_event_costs_the_others_of_its_batch_a_retry_not_their_effect(
    servers: Servers, js
) -> None:
    events = _events(10)
    poison = events[4]
    mine = {e.session_id for e in events}
    calls: dict[uuid.UUID, int] = {}

    async def handle(event: SessionDeleted, ctx: HandlerContext) -> None:
        if event.session_id not in mine:
            return
        calls[event.session_id] = calls.get(event.session_id, 0) + 1
        async with ctx.unit_of_work(event):
            if event.session_id == poison.session_id:
                raise RuntimeError("this one is broken")

    async with probe(servers, js, handle, batch=True) as (service, durable):
        await publish(service, *events)

    healthy = [e for e in events if e is not poison]
    assert await _marked(servers, durable, events) == {e.event_id for e in healthy}
    assert calls[poison.session_id] >= 3  # max_deliver 3: each delivery tried at least alone
    assert all(calls[e.session_id] <= 2 for e in healthy)  # in the batch, then alone at most
    dead = await js.get_last_msg(
        servers.stream, Subjects(servers.prefix).dead_letter(durable, poison.session_id)
    )
    assert dead.data == poison.to_json()


async def test_one_statement_marks_a_batch_and_tells_duplicates_and_deleted_sessions(
    servers: Servers, js
) -> None:
    fresh, seen, deleting = _events(3)
    gone = SessionCreated(
        session_id=deleting.session_id, user_id="batch", name="n", name_source="default", model="m"
    )

    async def nothing(event: SessionDeleted, ctx: HandlerContext) -> None:
        return None

    async with probe(servers, js, nothing, batch=True) as (service, _):
        async with service.unit_of_work() as uow:
            await uow.forget_session(deleting.session_id)
            await uow.mark_processed("marker", seen)
        async with service.pool.acquire() as conn, conn.transaction():
            standings = await mark_all(conn, "marker", [fresh, seen, gone, deleting])
        async with service.pool.acquire() as conn:
            marked = await conn.fetch(
                "SELECT event_id FROM inbox WHERE consumer = 'marker' ORDER BY event_id"
            )

    assert standings == [Standing.MARKED, Standing.DUPLICATE, Standing.GONE, Standing.MARKED]
    assert sorted(r["event_id"] for r in marked) == sorted(
        [fresh.event_id, seen.event_id, deleting.event_id]
    )
