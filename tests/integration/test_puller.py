"""Continuous pulling on a real NATS JetStream server: one outstanding request serves many
messages (not two requests per message), ``room`` bounds what is asked for, and requests the
server ends are asked for again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig
from parley_runtime.pulling import NEXT_SUBJECT, Puller
from stack import Servers


@dataclass
class Line:
    """A stream and a durable of its own, on a connection of its own."""

    nc: Client
    stream: str
    durable: str
    subject: str

    async def publish(self, n: int) -> None:
        js = self.nc.jetstream()
        for i in range(n):
            await js.publish(self.subject, str(i).encode(), stream=self.stream)

    async def durable_again(self) -> None:
        await self.nc.jetstream().add_consumer(
            self.stream, ConsumerConfig(durable_name=self.durable, ack_policy=AckPolicy.EXPLICIT)
        )


@pytest.fixture
async def line(servers: Servers) -> AsyncIterator[Line]:
    nc = await nats.connect(servers.nats_url)
    name = uuid.uuid4().hex[:8]
    line = Line(nc, f"PULL_{name.upper()}", f"d_{name}", f"pull.{name}.x")
    await nc.jetstream().add_stream(name=line.stream, subjects=[f"pull.{name}.>"])
    await line.durable_again()
    try:
        yield line
    finally:
        await nc.jetstream().delete_stream(line.stream)
        await nc.close()


async def _requests(line: Line) -> tuple[list[Msg], object]:
    """The pull requests sent to the line's durable, as a list filled as they go out."""
    seen: list[Msg] = []

    async def note(msg: Msg) -> None:
        seen.append(msg)

    subject = NEXT_SUBJECT.format(stream=line.stream, durable=line.durable)
    return seen, await line.nc.subscribe(subject, cb=note)


async def _until(check, timeout_s: float = 10.0) -> None:  # noqa: ANN001
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not in time"
        await asyncio.sleep(0.02)


async def test_one_request_serves_many_messages(line: Line) -> None:
    requests, spy = await _requests(line)
    got: list[Msg] = []
    puller = Puller(line.nc, line.stream, line.durable, batch=8, room=lambda: 100,
                    deliver=got.append)  # fmt: skip
    await puller.start()
    try:
        for n in range(1, 21):  # one at a time, as an idle consumer sees them
            await line.publish(1)
            await _until(lambda n=n: len(got) == n)
            await got[-1].ack()
    finally:
        await puller.stop()
        await spy.unsubscribe()
    assert [m.data for m in got] == [b"0"] * 20
    assert len(requests) <= 6  # a request per half batch, not two per message


async def test_room_bounds_what_is_asked_for_and_held(line: Line) -> None:
    held: list[Msg] = []
    puller = Puller(line.nc, line.stream, line.durable, batch=8, room=lambda: 3 - len(held),
                    deliver=held.append)  # fmt: skip
    await puller.start()
    try:
        await line.publish(10)
        await _until(lambda: len(held) == 3)
        await asyncio.sleep(0.3)
        assert len(held) == 3
        done = [m.data for m in held]
        for msg in held:
            await msg.ack()
        held.clear()
        puller.wake()
        await _until(lambda: len(held) == 3)
        done += [m.data for m in held]
    finally:
        await puller.stop()
    assert done == [str(i).encode() for i in range(6)]


async def test_requests_the_server_ends_are_asked_for_again(line: Line) -> None:
    got: list[Msg] = []
    puller = Puller(line.nc, line.stream, line.durable, batch=8, room=lambda: 100,
                    deliver=got.append)  # fmt: skip
    await puller.start()
    try:
        await _until(lambda: puller.pending == 8)
        await line.nc.jetstream().delete_consumer(line.stream, line.durable)  # ends them: 409
        await _until(lambda: puller.pending == 0, timeout_s=3)
        await line.durable_again()
        await line.publish(1)
        await _until(lambda: len(got) == 1)
    finally:
        await puller.stop()
    assert got[0].data == b"0"
