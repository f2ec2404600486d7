"""A unit of work with a late inbox mark, on a real PostgreSQL: the mark is written with the
outbox rows in the unit's last statement; a duplicate or an event of a deleted session is
refused there and the unit's writes roll back with it."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from parley_contracts import SessionCreated, SessionDeleted
from parley_runtime import AlreadyProcessed, HandlerContext, Service, SessionGone
from parley_runtime.uow import joined_unit_of_work
from probe_service import probe
from stack import Servers


def _created(session_id: uuid.UUID) -> SessionCreated:
    return SessionCreated(
        session_id=session_id, user_id="late", name="n", name_source="default", model="m"
    )


async def _late(service: Service, cause: SessionCreated, statements: list[str]) -> None:
    """A unit of work caused by ``cause``, marked late, that writes a ``deleted_sessions`` row
    of its own and publishes one event; ``statements`` gets what it ran."""
    async with service.pool.acquire() as conn:
        conn.add_query_logger(lambda record: statements.append(record.query))
        async with conn.transaction():
            async with joined_unit_of_work(
                conn, service.subjects, service.schema,
                consumer="late", cause=cause, late_mark=True,
            ) as uow:  # fmt: skip
                await uow.forget_session(cause.event_id)  # any write of the unit's own
                await uow.publish(SessionDeleted(session_id=cause.session_id, user_id="late"))
        await asyncio.sleep(0)  # asyncpg calls query loggers soon after a statement


async def _counts(service: Service, cause: SessionCreated) -> tuple[int, int, int]:
    """``(inbox marks, own writes, outbox rows)`` of a unit of work of :func:`_late`."""
    async with service.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM inbox WHERE consumer = 'late' AND event_id = $1),"
            " (SELECT count(*) FROM deleted_sessions WHERE session_id = $1),"
            " (SELECT count(*) FROM outbox WHERE subject LIKE '%' || $2)",
            cause.event_id,
            str(cause.session_id),
        )
    return tuple(row)  # type: ignore[return-value]


async def test_a_late_mark_is_written_with_the_outbox_rows_and_refuses_a_duplicate(
    servers: Servers, js
) -> None:
    async def nothing(event: SessionDeleted, ctx: HandlerContext) -> None:
        return None

    async with probe(servers, js, nothing) as (service, _):
        await service.relay.stop()  # the outbox rows stay, to be counted
        cause, statements = _created(uuid.uuid4()), []
        await _late(service, cause, statements)
        assert await _counts(service, cause) == (1, 1, 1)
        marks = [q for q in statements if "INSERT INTO inbox" in q]
        assert len(marks) == 1 and "INSERT INTO outbox" in marks[0]

        with pytest.raises(AlreadyProcessed):
            await _late(service, cause, [])
        assert await _counts(service, cause) == (1, 1, 1)  # the second one's writes rolled back

        deleted = _created(uuid.uuid4())
        async with service.unit_of_work() as uow:
            await uow.forget_session(deleted.session_id)
        with pytest.raises(SessionGone):
            await _late(service, deleted, [])
        assert await _counts(service, deleted) == (0, 0, 0)
        await service.relay.start()  # so that the probe settles
