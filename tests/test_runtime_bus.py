"""The chassis on real servers: bounded redelivery with backoff, dead letters with a give-up hook,
and the outbox relay with JetStream de-duplication."""

from __future__ import annotations

import asyncio
import time
import uuid

from parley_contracts import SessionDeleted, Subjects
from parley_runtime import ConsumerSpec, HandlerContext, RuntimeSettings, Service
from stack import Servers, settled


def _settings(servers: Servers, **extra: object) -> RuntimeSettings:
    return RuntimeSettings(**servers.env(max_deliver=3, backoff_s=(0.2, 0.4), **extra))


async def test_a_failing_event_is_retried_with_backoff_then_dead_lettered(
    servers: Servers, js
) -> None:
    deliveries: list[tuple[int, float]] = []
    given_up: list[str] = []

    event = SessionDeleted(session_id=uuid.uuid4(), user_id="carol")

    async def always_fails(got: SessionDeleted, ctx: HandlerContext) -> None:
        if got.session_id != event.session_id:
            return  # a new durable also sees earlier tests' events
        deliveries.append((ctx.delivery, time.monotonic()))
        raise RuntimeError("the database of a partner is down")

    async def on_give_up(event: SessionDeleted, reason: str, ctx: HandlerContext) -> None:
        given_up.append(reason)

    durable = f"probe_{uuid.uuid4().hex[:8]}"
    service = Service(
        "probe",
        _settings(servers),
        consumers=[
            ConsumerSpec(
                durable=durable, handlers={"session.deleted": always_fails}, on_give_up=on_give_up
            )
        ],
    )
    await service.start()
    try:
        async with service.unit_of_work() as uow:
            await uow.publish(event)
        await settled(js, servers.stream, [durable], [service.pool])
    finally:
        await service.stop()

    assert [n for n, _ in deliveries] == [1, 2, 3]
    gaps = [b - a for (_, a), (_, b) in zip(deliveries, deliveries[1:], strict=False)]
    assert gaps[0] >= 0.18 and gaps[1] >= 0.38  # the backoff between deliveries
    assert given_up == ["RuntimeError: the database of a partner is down"]
    dead = await js.get_last_msg(
        servers.stream, Subjects(servers.prefix).dead_letter(durable, event.session_id)
    )
    assert dead.data == event.to_json()
    assert dead.headers["Parley-Deliveries"] == "3"


async def test_the_outbox_publishes_each_event_once_even_when_written_twice(
    servers: Servers, js
) -> None:
    seen: list[uuid.UUID] = []
    event = SessionDeleted(session_id=uuid.uuid4(), user_id="dave")

    async def record(got: SessionDeleted, ctx: HandlerContext) -> None:
        async with ctx.unit_of_work(got):
            if got.session_id == event.session_id:  # a new durable also sees earlier tests' events
                seen.append(got.event_id)

    durable = f"probe_{uuid.uuid4().hex[:8]}"
    service = Service(
        "probe",
        _settings(servers),
        consumers=[ConsumerSpec(durable=durable, handlers={"session.deleted": record})],
    )
    await service.start()
    try:
        async with service.unit_of_work() as uow:
            await uow.publish(event)
            await uow.publish(event)  # ignored: the outbox keys on event_id
        async with service.unit_of_work() as uow:
            await uow.publish(event)  # a second transaction: the stream de-duplicates it
        await settled(js, servers.stream, [durable], [service.pool])
        info = await js.stream_info(servers.stream)
        subject = Subjects(servers.prefix).of(event)
        last = await js.get_last_msg(servers.stream, subject)
        assert last.headers["Nats-Msg-Id"] == str(event.event_id)
        assert await service.pool.fetchval("SELECT count(*) FROM outbox") == 0
        assert info.state.messages >= 1
    finally:
        await service.stop()
    assert seen == [event.event_id]


async def test_events_of_one_session_are_handled_one_at_a_time_in_order(
    servers: Servers, js
) -> None:
    running: dict[uuid.UUID, int] = {}
    order: dict[uuid.UUID, list[str]] = {}
    overlap = []
    sessions = [uuid.uuid4() for _ in range(4)]

    async def slow(event: SessionDeleted, ctx: HandlerContext) -> None:
        if event.session_id not in sessions:
            return  # a new durable also sees earlier tests' events
        running[event.session_id] = running.get(event.session_id, 0) + 1
        if running[event.session_id] > 1:
            overlap.append(event.session_id)
        await asyncio.sleep(0.02)
        order.setdefault(event.session_id, []).append(event.user_id)
        running[event.session_id] -= 1

    durable = f"probe_{uuid.uuid4().hex[:8]}"
    service = Service(
        "probe",
        _settings(servers, max_workers=8),
        consumers=[ConsumerSpec(durable=durable, handlers={"session.deleted": slow})],
    )
    await service.start()
    try:
        async with service.unit_of_work() as uow:
            for n in range(5):
                for sid in sessions:
                    await uow.publish(SessionDeleted(session_id=sid, user_id=f"u{n}"))
        await settled(js, servers.stream, [durable], [service.pool])
    finally:
        await service.stop()
    assert overlap == []
    assert all(order[sid] == [f"u{n}" for n in range(5)] for sid in sessions)


async def test_a_busy_session_does_not_hold_up_the_others(servers: Servers, js) -> None:
    busy, quiet = uuid.uuid4(), uuid.uuid4()
    handled: list[tuple[uuid.UUID, float]] = []

    async def slow(event: SessionDeleted, ctx: HandlerContext) -> None:
        if event.session_id == busy:
            await asyncio.sleep(0.05)
        if event.session_id in (busy, quiet):
            handled.append((event.session_id, time.monotonic()))

    durable = f"probe_{uuid.uuid4().hex[:8]}"
    service = Service(
        "probe",
        _settings(servers, max_workers=2),
        consumers=[ConsumerSpec(durable=durable, handlers={"session.deleted": slow})],
    )
    await service.start()
    try:
        async with service.unit_of_work() as uow:
            for n in range(20):
                await uow.publish(SessionDeleted(session_id=busy, user_id=f"u{n}"))
            await uow.publish(SessionDeleted(session_id=quiet, user_id="q"))
        await settled(js, servers.stream, [durable], [service.pool])
    finally:
        await service.stop()
    quiet_at = next(at for sid, at in handled if sid == quiet)
    busy_times = [at for sid, at in handled if sid == busy]
    assert len(busy_times) == 20
    assert quiet_at < busy_times[2]  # not behind the busy session's queue
