"""The outbox relay on real servers: a batch leaves in the order it was written; a publish
that fails keeps every row of its batch for the next round without storing anything twice; one
relay of a schema leads at a time, another takes over when it stops or its connection dies; the
rows a round published are deleted by the next round; rows a unit of work hands over are
published at once without a NOTIFY, and, when that fails, by the leader after the grace period."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import nats
import pytest
from parley_contracts import SessionDeleted, Subjects
from parley_runtime import RuntimeSettings, Service
from parley_runtime.outbox import OutboxRelay
from parley_runtime.uow import unit_of_work
from stack import Servers


class FlakyJetStream:
    """A JetStream context whose ``fail_at``-th publish (0-based) fails; the rest go through."""

    def __init__(self, js: Any, fail_at: int) -> None:
        self._js = js
        self._fail_at = fail_at
        self.calls = 0

    async def publish(self, *args: Any, **kwargs: Any) -> Any:
        n, self.calls = self.calls, self.calls + 1
        if n == self._fail_at:
            raise nats.errors.TimeoutError
        return await self._js.publish(*args, **kwargs)


async def _stored(js: Any, stream: str, subject: str) -> list[str]:
    """``user_id`` of every event stored on ``subject``, in stream order."""
    sub = await js.subscribe(subject, ordered_consumer=True, stream=stream)
    out: list[str] = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=0.5)
            except nats.errors.TimeoutError:
                return out
            out.append(SessionDeleted.model_validate_json(msg.data).user_id)
    finally:
        await sub.unsubscribe()


@pytest.fixture
async def outbox_service(servers: Servers) -> Any:
    """A started service with no consumers (its own relay stopped), for writing outbox rows."""
    service = Service("relayprobe", RuntimeSettings(**servers.env()), consumers=[])
    await service.start()
    assert service.relay is not None
    await service.relay.stop()  # the tests drive their own relays
    try:
        yield service
    finally:
        await service.stop()


async def _write(service: Service, session_id: uuid.UUID, n: int) -> None:
    async with service.unit_of_work() as uow:
        for i in range(n):
            await uow.publish(SessionDeleted(session_id=session_id, user_id=f"u{i:03d}"))


async def test_a_batch_leaves_in_the_order_it_was_written(
    servers: Servers, js: Any, outbox_service: Service
) -> None:
    sid = uuid.uuid4()
    await _write(outbox_service, sid, 60)
    relay = OutboxRelay(
        outbox_service.pool, js, schema="relayprobe", stream=servers.stream, batch=25
    )
    assert [await relay.relay_once() for _ in range(4)] == [25, 25, 10, 0]
    await relay.stop()
    subject = Subjects(servers.prefix).of(SessionDeleted(session_id=sid, user_id="x"))
    assert await _stored(js, servers.stream, subject) == [f"u{i:03d}" for i in range(60)]


async def test_a_failed_publish_keeps_the_batch_and_stores_nothing_twice(
    servers: Servers, js: Any, outbox_service: Service
) -> None:
    sid = uuid.uuid4()
    await _write(outbox_service, sid, 10)
    flaky = FlakyJetStream(js, fail_at=4)
    broken = OutboxRelay(outbox_service.pool, flaky, schema="relayprobe", stream=servers.stream)
    with pytest.raises(nats.errors.TimeoutError):
        await broken.relay_once()
    await broken.stop()
    assert await outbox_service.pool.fetchval("SELECT count(*) FROM outbox") == 10

    relay = OutboxRelay(outbox_service.pool, js, schema="relayprobe", stream=servers.stream)
    assert await relay.relay_once() == 10
    assert await outbox_service.pool.fetchval("SELECT count(*) FROM outbox") == 10
    assert await relay.relay_once() == 0  # the next round deletes what was published
    assert await outbox_service.pool.fetchval("SELECT count(*) FROM outbox") == 0
    await relay.stop()
    subject = Subjects(servers.prefix).of(SessionDeleted(session_id=sid, user_id="x"))
    stored = await _stored(js, servers.stream, subject)
    assert sorted(stored) == [f"u{i:03d}" for i in range(10)]  # each once
    assert stored[:4] == ["u000", "u001", "u002", "u003"]  # before the failure: in order


async def test_a_row_the_server_cannot_take_is_set_aside_and_the_rest_go_on(
    servers: Servers, js: Any, outbox_service: Service
) -> None:
    """A payload over the server's ``max_payload`` can never be published: it moves to
    ``outbox_dead`` with the reason, and the events written after it are published in order."""
    sid = uuid.uuid4()
    async with outbox_service.unit_of_work() as uow:
        await uow.publish(SessionDeleted(session_id=sid, user_id="before"))
        await uow.publish(SessionDeleted(session_id=sid, user_id="x" * 200))
        await uow.publish(SessionDeleted(session_id=sid, user_id="after"))
    limit = (
        max(
            len(r["payload"]) for r in await outbox_service.pool.fetch("SELECT payload FROM outbox")
        )
        - 1
    )  # only the row with the long user id is over it
    relay = OutboxRelay(
        outbox_service.pool, js, schema="relayprobe", stream=servers.stream, max_payload=limit
    )
    assert await relay.relay_once() == 3
    await relay.stop()  # deletes what the round took
    subject = Subjects(servers.prefix).of(SessionDeleted(session_id=sid, user_id="x"))
    assert await _stored(js, servers.stream, subject) == ["before", "after"]
    dead = await outbox_service.pool.fetchrow("SELECT event_type, payload, reason FROM outbox_dead")
    assert dead["event_type"] == "session.deleted"
    assert SessionDeleted.model_validate_json(dead["payload"]).user_id == "x" * 200
    assert dead["reason"] == f"payload of {limit + 1} bytes is over the server's {limit}"
    assert await outbox_service.pool.fetchval("SELECT count(*) FROM outbox") == 0


async def _count(service: Service) -> int:
    return int(await service.pool.fetchval("SELECT count(*) FROM outbox"))


async def _until(check: Any, timeout_s: float = 10.0) -> None:
    """Poll ``check()`` every 20 ms until it is true (the rows sit in another process's
    reach: nothing here can be awaited instead)."""
    async with asyncio.timeout(timeout_s):
        while True:
            if await check():
                return
            await asyncio.sleep(0.02)


async def test_one_relay_leads_and_another_takes_over_when_it_stops(
    servers: Servers, js: Any, outbox_service: Service
) -> None:
    sid = uuid.uuid4()
    await _write(outbox_service, sid, 5)
    pool, stream = outbox_service.pool, servers.stream
    first = OutboxRelay(pool, js, schema="relayprobe", stream=stream, poll_s=0.1)
    second = OutboxRelay(pool, js, schema="relayprobe", stream=stream, poll_s=0.1)
    try:
        await first.start()
        await _until(lambda: _zero(outbox_service))  # published, then deleted by the next round
        await second.start()
        await asyncio.sleep(0.3)  # three of its polls
        assert first.leading and not second.leading

        await first.stop()
        await _write(outbox_service, sid, 5)
        await _until(lambda: _zero(outbox_service))
        assert second.leading
    finally:
        await first.stop()
        await second.stop()
    subject = Subjects(servers.prefix).of(SessionDeleted(session_id=sid, user_id="x"))
    assert await _stored(js, stream, subject) == [f"u{i:03d}" for i in range(5)] * 2


async def _leads(relay: OutboxRelay) -> bool:
    return relay.leading


async def _zero(service: Service) -> bool:
    return await _count(service) == 0


async def test_a_leader_whose_connection_dies_leads_again_and_loses_nothing(
    servers: Servers, js: Any, outbox_service: Service
) -> None:
    sid = uuid.uuid4()
    relay = OutboxRelay(
        outbox_service.pool, js, schema="relayprobe", stream=servers.stream, poll_s=0.1
    )
    await relay.start()
    try:
        await _write(outbox_service, sid, 3)
        await _until(lambda: _zero(outbox_service))
        assert relay.leading
        killed = await outbox_service.pool.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks"
            " WHERE locktype = 'advisory' AND granted AND objid = hashtext('outbox:relayprobe')::oid"
        )
        assert killed == 1
        await _write(outbox_service, sid, 3)  # no one listens now: the relay's poll finds them
        await _until(lambda: _zero(outbox_service))
        assert relay.leading
    finally:
        await relay.stop()
    subject = Subjects(servers.prefix).of(SessionDeleted(session_id=sid, user_id="x"))
    assert await _stored(js, servers.stream, subject) == [f"u{i:03d}" for i in range(3)] * 2


async def test_rows_handed_over_are_published_at_once_without_a_notify(
    servers: Servers, js: Any, outbox_service: Service
) -> None:
    sid = uuid.uuid4()
    relay = OutboxRelay(outbox_service.pool, js, schema="relayprobe", stream=servers.stream)
    notified: list[str] = []
    def heard(*args: Any) -> None:
        notified.append(args[-1])

    listener = await outbox_service.pool.acquire()
    await listener.add_listener("relayprobe_outbox", heard)
    await relay.start()
    try:
        async with unit_of_work(
            outbox_service.pool, outbox_service.subjects, "relayprobe", handoff=relay.handoff
        ) as uow:
            for i in range(3):
                await uow.publish(SessionDeleted(session_id=sid, user_id=f"u{i:03d}"))
        await _until(lambda: _zero(outbox_service), timeout_s=1.0)  # well before the grace
    finally:
        await relay.stop()
        await listener.remove_listener("relayprobe_outbox", heard)
        await outbox_service.pool.release(listener)
    assert notified == []
    subject = Subjects(servers.prefix).of(SessionDeleted(session_id=sid, user_id="x"))
    assert await _stored(js, servers.stream, subject) == ["u000", "u001", "u002"]


async def test_rows_whose_hand_over_failed_are_published_by_the_leader_after_the_grace(
    servers: Servers, js: Any, outbox_service: Service
) -> None:
    sid = uuid.uuid4()
    flaky = FlakyJetStream(js, fail_at=0)  # the hand-over's publish fails, the retry goes
    relay = OutboxRelay(
        outbox_service.pool, flaky, schema="relayprobe", stream=servers.stream,
        poll_s=0.1, grace_s=0.5,
    )  # fmt: skip
    await relay.start()
    try:
        await _until(lambda: _leads(relay))  # its first round, which reads every row, is over
        async with unit_of_work(
            outbox_service.pool, outbox_service.subjects, "relayprobe", handoff=relay.handoff
        ) as uow:
            await uow.publish(SessionDeleted(session_id=sid, user_id="late"))
        await asyncio.sleep(0.3)
        assert await _count(outbox_service) == 1  # failed, and not yet past the grace
        await _until(lambda: _zero(outbox_service))
    finally:
        await relay.stop()
    assert flaky.calls == 2
    subject = Subjects(servers.prefix).of(SessionDeleted(session_id=sid, user_id="x"))
    assert await _stored(js, servers.stream, subject) == ["late"]
