"""The chassis on real servers: bounded redelivery with backoff, dead letters with a give-up hook,
waits that do not count as failures, the outbox relay with JetStream de-duplication, and
per-session order without head-of-line blocking.

Each test runs a probe service (:mod:`probe_service`) with a fresh durable on
``session.deleted`` events; handlers ignore sessions not their own.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import pytest
from parley_contracts import SessionDeleted, SessionRenamed, Subjects
from parley_runtime import (
    ConsumerSpec,
    HandlerContext,
    Handlers,
    RetryLater,
    RuntimeSettings,
    Service,
    settlement,
)
from probe_service import probe, publish
from stack import Servers, settled


async def test_a_failing_event_is_retried_with_backoff_then_dead_lettered(
    servers: Servers, js
) -> None:
    deliveries: list[tuple[int, float]] = []
    given_up: list[str] = []
    event = SessionDeleted(session_id=uuid.uuid4(), user_id="carol")

    async def always_fails(got: SessionDeleted, ctx: HandlerContext) -> None:
        if got.session_id == event.session_id:
            deliveries.append((ctx.delivery, time.monotonic()))
            raise RuntimeError("the database of a partner is down")

    async def on_give_up(got: SessionDeleted, reason: str, ctx: HandlerContext) -> None:
        given_up.append(reason)

    async with probe(servers, js, always_fails, on_give_up=on_give_up) as (service, durable):
        await publish(service, event)

    assert [n for n, _ in deliveries] == [1, 2, 3]
    gaps = [b - a for (_, a), (_, b) in zip(deliveries, deliveries[1:], strict=False)]
    assert gaps[0] >= 0.18 and gaps[1] >= 0.38  # the backoff between deliveries
    assert given_up == ["RuntimeError: the database of a partner is down"]
    dead = await js.get_last_msg(
        servers.stream, Subjects(servers.prefix).dead_letter(durable, event.session_id)
    )
    assert dead.data == event.to_json()
    assert dead.headers["Parley-Deliveries"] == "3"


async def test_waiting_does_not_use_up_the_failure_budget_and_nothing_is_dropped(
    servers: Servers, js
) -> None:
    event = SessionDeleted(session_id=uuid.uuid4(), user_id="erin")
    calls: list[int] = []
    given_up: list[str] = []

    async def waits_then_fails(got: SessionDeleted, ctx: HandlerContext) -> None:
        if got.session_id != event.session_id:
            return
        calls.append(ctx.delivery)
        if len(calls) <= 3:
            raise RetryLater("an earlier event is missing", delay_s=0.05)
        raise RuntimeError("still broken")

    async def on_give_up(got: SessionDeleted, reason: str, ctx: HandlerContext) -> None:
        given_up.append(reason)

    async with probe(
        servers,
        js,
        waits_then_fails,
        on_give_up=on_give_up,
        max_deliver=4,
        max_wait_deliveries=4,
        backoff_s=(0.05,),
    ) as (service, _):
        await publish(service, event)

    assert calls == [1, 2, 3, 4, 5, 6, 7]  # 3 waits, then the 4 failures max_deliver allows
    assert given_up == ["RuntimeError: still broken"]


async def test_the_outbox_publishes_each_event_once_even_when_written_twice(
    servers: Servers, js
) -> None:
    seen: list[uuid.UUID] = []
    event = SessionDeleted(session_id=uuid.uuid4(), user_id="dave")

    async def record(got: SessionDeleted, ctx: HandlerContext) -> None:
        async with ctx.unit_of_work(got):
            if got.session_id == event.session_id:
                seen.append(got.event_id)

    async with probe(servers, js, record) as (service, _):
        await publish(service, event, event)  # the second is ignored: the outbox keys on event_id
        await publish(service, event)  # another transaction: the stream de-duplicates it

    subject = Subjects(servers.prefix).of(event)
    info = await js.stream_info(servers.stream, subjects_filter=subject)
    assert info.state.subjects == {subject: 1}  # stored once
    last = await js.get_last_msg(servers.stream, subject)
    assert last.headers["Nats-Msg-Id"] == str(event.event_id)
    assert seen == [event.event_id]


@pytest.mark.parametrize("batch", [False, True], ids=["alone", "batched"])
async def test_events_of_one_session_are_handled_one_at_a_time_in_order(
    servers: Servers, js, batch: bool
) -> None:
    running: dict[uuid.UUID, int] = {}
    order: dict[uuid.UUID, list[str]] = {}
    overlap = []
    sessions = [uuid.uuid4() for _ in range(4)]

    async def slow(event: SessionDeleted, ctx: HandlerContext) -> None:
        if event.session_id not in sessions:
            return
        running[event.session_id] = running.get(event.session_id, 0) + 1
        if running[event.session_id] > 1:
            overlap.append(event.session_id)
        await asyncio.sleep(0.02)
        order.setdefault(event.session_id, []).append(event.user_id)
        running[event.session_id] -= 1

    async with probe(servers, js, slow, max_workers=8, batch=batch) as (service, _):
        await publish(
            service,
            *(
                SessionDeleted(session_id=sid, user_id=f"u{n}")
                for n in range(5)
                for sid in sessions
            ),
        )

    assert overlap == []
    assert all(order[sid] == [f"u{n}" for n in range(5)] for sid in sessions)


async def test_a_busy_session_does_not_hold_up_the_others(servers: Servers, js) -> None:
    busy, quiet = uuid.uuid4(), uuid.uuid4()
    quiet_done = asyncio.Event()
    busy_handled: list[str] = []

    async def handle(event: SessionDeleted, ctx: HandlerContext) -> None:
        if event.session_id == quiet:
            quiet_done.set()
        elif event.session_id == busy:
            # The busy session's first event cannot finish before the quiet session's event:
            # if that one were queued behind it, this would time out.
            await asyncio.wait_for(quiet_done.wait(), 10)
            busy_handled.append(event.user_id)

    async with probe(servers, js, handle, max_workers=2) as (service, _):
        await publish(
            service,
            *(SessionDeleted(session_id=busy, user_id=f"u{n}") for n in range(20)),
            SessionDeleted(session_id=quiet, user_id="q"),
        )

    assert quiet_done.is_set()
    assert busy_handled == [f"u{n}" for n in range(20)]


async def test_an_event_of_a_deleted_session_is_refused_by_its_inbox_mark(
    servers: Servers, js
) -> None:
    sid = uuid.uuid4()
    entered: list[int] = []
    written: list[uuid.UUID] = []

    async def rename(event: SessionRenamed, ctx: HandlerContext) -> None:
        if event.session_id != sid:
            return
        entered.append(ctx.delivery)
        async with ctx.unit_of_work(event):
            written.append(event.event_id)  # never reached: the session is gone

    durable = f"probe_{uuid.uuid4().hex[:8]}"
    service = Service(
        "probe",
        RuntimeSettings(**servers.env(max_deliver=3, backoff_s=(0.2,))),
        consumers=[ConsumerSpec(durable=durable, handlers=Handlers().on(SessionRenamed, rename))],
    )
    await service.start()
    try:
        async with service.unit_of_work() as uow:
            await uow.forget_session(sid)
            await uow.publish(SessionRenamed(session_id=sid, user_id="erin", name="Late name"))
        await settled(js, servers.stream, [durable], [service.pool])
        marks = await service.pool.fetchval(
            "SELECT count(*) FROM inbox WHERE consumer = $1", durable
        )
    finally:
        await service.stop()
    assert entered == [1]  # handled once, settled as dropped: no redelivery
    assert written == []
    assert marks == 0


async def test_a_database_outage_is_waited_out_in_place_and_spends_no_delivery(
    servers: Servers, js
) -> None:
    """A handler failing because the database is out of reach (here: 6 times, more than
    ``max_deliver``) is tried again in place: handled on its first delivery, nothing
    dead-lettered. Other failures still spend deliveries (the test above)."""
    event = SessionDeleted(session_id=uuid.uuid4(), user_id="frank")
    tries: list[int] = []
    given_up: list[str] = []

    async def database_restarting(got: SessionDeleted, ctx: HandlerContext) -> None:
        if got.session_id != event.session_id:
            return
        tries.append(ctx.delivery)
        if len(tries) <= 3:
            raise ConnectionRefusedError(111, "Connection refused")
        if len(tries) <= 6:
            raise asyncpg.CannotConnectNowError("the database system is starting up")

    async def on_give_up(got: SessionDeleted, reason: str, ctx: HandlerContext) -> None:
        given_up.append(reason)

    async def database_down(pool: object) -> bool:  # the server agrees while it restarts
        return len(tries) > 6

    settlement.OUTAGE_PAUSES_S, pauses = (0.05, 0.1), settlement.OUTAGE_PAUSES_S
    settlement.database_answers, answers = database_down, settlement.database_answers
    try:
        async with probe(servers, js, database_restarting, on_give_up=on_give_up) as (svc, _):
            await publish(svc, event)
    finally:
        settlement.OUTAGE_PAUSES_S = pauses
        settlement.database_answers = answers
    assert tries == [1] * 7
    assert given_up == []


async def test_a_connection_like_error_while_the_database_answers_is_a_failure(
    servers: Servers, js
) -> None:
    """An error that looks like an outage (a refused connection to some other server, a file
    not found) while the service's own database answers is the event's failure: it spends
    deliveries and ends in a dead letter, instead of being waited out for minutes."""
    event = SessionDeleted(session_id=uuid.uuid4(), user_id="grace")
    deliveries: list[int] = []
    given_up: list[str] = []

    async def partner_refuses(got: SessionDeleted, ctx: HandlerContext) -> None:
        if got.session_id == event.session_id:
            deliveries.append(ctx.delivery)
            raise ConnectionRefusedError(111, "a partner service refused the connection")

    async def on_give_up(got: SessionDeleted, reason: str, ctx: HandlerContext) -> None:
        given_up.append(reason)

    async with probe(servers, js, partner_refuses, on_give_up=on_give_up) as (svc, _):
        await publish(svc, event)
    assert deliveries == [1, 2, 3]
    assert given_up == [
        "ConnectionRefusedError: [Errno 111] a partner service refused the connection"
    ]
