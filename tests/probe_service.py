"""A probe service for the chassis tests on real servers: one durable on ``session.deleted``
events, started with test settings, left settled when the test is done.

A new durable also receives the events earlier tests published, so a probe's handler ignores
sessions not its own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from parley_contracts import SessionDeleted
from parley_runtime import ConsumerSpec, Handlers, RuntimeSettings, Service
from parley_runtime.bus import EventHandler, GiveUpHook
from stack import Servers, settled


@asynccontextmanager
async def probe(
    servers: Servers,
    js: object,
    handler: EventHandler,
    *,
    on_give_up: GiveUpHook | None = None,
    batch: bool = False,
    **settings: object,
) -> AsyncIterator[tuple[Service, str]]:
    """A started probe service (its handler batched with ``batch``); on exit, waits until its
    events are settled, then stops it."""
    durable = f"probe_{uuid.uuid4().hex[:8]}"
    options = {"max_deliver": 3, "backoff_s": (0.2, 0.4), **settings}
    service = Service(
        "probe",
        RuntimeSettings(**servers.env(**options)),
        consumers=[
            ConsumerSpec(
                durable=durable,
                handlers=Handlers().on(SessionDeleted, handler, batch=batch),
                on_give_up=on_give_up,
            )
        ],
    )
    await service.start()
    try:
        yield service, durable
        await settled(js, servers.stream, [durable], [service.pool])
    finally:
        await service.stop()


async def publish(service: Service, *events: SessionDeleted) -> None:
    """Write ``events`` to the probe's outbox in one transaction."""
    async with service.unit_of_work() as uow:
        for event in events:
            await uow.publish(event)
