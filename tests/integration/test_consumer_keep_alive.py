"""The chassis on real servers: a consumer keeps its deliveries alive while they wait and while
they are handled, so one longer than ``ack_wait`` is not redelivered meanwhile."""

from __future__ import annotations

import asyncio
import uuid

from parley_contracts import SessionDeleted, SessionRenamed
from parley_runtime import ConsumerSpec, HandlerContext, Handlers, RuntimeSettings, Service
from stack import Servers


async def test_a_delivery_handled_or_waiting_longer_than_ack_wait_is_kept_alive(
    servers: Servers, js
) -> None:
    session = uuid.uuid4()
    first = SessionDeleted(session_id=session, user_id="erin")
    second = SessionRenamed(session_id=session, user_id="erin", name="behind the first")
    deliveries: list[tuple[str, int]] = []
    both = asyncio.Event()

    async def slow(got: SessionDeleted | SessionRenamed, ctx: HandlerContext) -> None:
        if got.session_id == session:
            deliveries.append((got.event_type, ctx.delivery))
            if len(deliveries) == 2:
                both.set()
            if got.event_type == "session.deleted":
                await asyncio.sleep(3.0)  # 2.5 times ack_wait, the second event queued behind

    service = Service(
        "probe",
        RuntimeSettings(**servers.env(ack_wait_s=1.2, max_deliver=3)),
        consumers=[
            ConsumerSpec(
                durable=f"alive_{uuid.uuid4().hex[:8]}",
                handlers=Handlers().on(SessionDeleted, slow).on(SessionRenamed, slow),
            )
        ],
    )
    await service.start()
    try:
        async with service.unit_of_work() as uow:
            await uow.publish(first)
            await uow.publish(second)
        await asyncio.wait_for(both.wait(), 10)
        await asyncio.sleep(1.5)  # a redelivery, had there been one, would come by now
    finally:
        await service.stop()
    assert deliveries == [("session.deleted", 1), ("session.renamed", 1)]
