"""A gateway replica's saved sessions on a real PostgreSQL: a session this replica committed is
written again from the copy it kept, without a read; a copy made stale by another replica is
refused, then read again; a batch starts from a kept copy too, and one refused for a stale copy
has batches read rows for a while."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from parley_contracts import SessionNamed, SessionTagged, Subjects
from parley_gateway.adapters.repositories import PostgresSessions
from parley_gateway.adapters.saved_sessions import SavedSessions, copy_of
from parley_gateway.adapters.unit_of_work import PostgresUnitOfWork
from parley_gateway.app import MIGRATIONS  # noqa: F401 - read by the conn fixture, with SCHEMA
from parley_gateway.application import replies
from parley_gateway.consumers import GatewayHandlers
from parley_gateway.domain.messages import Message
from parley_gateway.domain.ports import ConcurrentUpdate
from parley_gateway.domain.sessions import Session
from parley_runtime import HandlerContext, WriteConflict
from parley_runtime import UnitOfWork as Transaction
from parley_runtime.uow import joined_unit_of_work

SCHEMA = "gatewaysaved"


async def _added(conn: asyncpg.Connection, saved: SavedSessions | None = None) -> Session:
    """A new session of the user ``store``, added (and kept in ``saved``, if given)."""
    session = Session(id=uuid.uuid4(), user_id="store", name="New chat",
                      name_source="default", model="echo")  # fmt: skip
    await PostgresSessions(conn, saved=saved).add(session)
    return session


async def test_a_session_this_replica_committed_is_written_again_without_a_read(
    conn: asyncpg.Connection, statements: list[str]
) -> None:
    saved = SavedSessions()
    session = await _added(conn, saved)
    for turn in (1, 2):  # each save keeps the version it stored
        await asyncio.sleep(0)
        statements.clear()
        async with joined_unit_of_work(conn, Subjects("t"), SCHEMA, optimistic=True) as unit:
            uow = PostgresUnitOfWork(unit, saved=saved)
            read = await uow.sessions.get(session.id, "store")
            assert read is not None and read.version == turn - 1
            asked = read.append(Message.from_user(uuid.uuid4(), session.id, f"Hello {turn}?"))
            await uow.sessions.save(read, [asked])
        unit.committed()  # as a unit of work of its own does once it committed
        await asyncio.sleep(0)
        sent = [q for q in statements if not q.startswith("\n") and "typeinfo_tree" not in q]
        assert len(sent) == 1 and "UPDATE sessions" in sent[0]  # no read: the copy kept
    stored = await PostgresSessions(conn).get(session.id)
    assert stored is not None and (stored.version, stored.user_turns) == (2, 2)
    async with joined_unit_of_work(conn, Subjects("t"), SCHEMA, optimistic=True) as unit:
        assert await PostgresUnitOfWork(unit, saved=saved).sessions.get(session.id, "x") is None
    unit.committed()
    assert len(saved) == 1  # another user's: not found, and kept again


async def test_a_copy_made_stale_elsewhere_is_refused_then_read_again(
    conn: asyncpg.Connection,
) -> None:
    saved = SavedSessions()
    session = await _added(conn)
    saved.keep(copy_of(session))  # as this replica committed it
    elsewhere = await PostgresSessions(conn).get(session.id)  # another replica renames it
    assert elsewhere is not None
    elsewhere.rename("Trip", 100)
    await PostgresSessions(conn).save(elsewhere)
    tries: list[int] = []
    for _ in range(2):
        try:
            async with joined_unit_of_work(conn, Subjects("t"), SCHEMA, optimistic=True) as unit:
                uow = PostgresUnitOfWork(unit, saved=saved)
                read = await uow.sessions.get(session.id, "store")
                assert read is not None
                tries.append(read.version)
                read.tag("chat_model_x_1", "echo 1")
                await uow.sessions.save(read)
            unit.committed()
            break
        except WriteConflict:
            continue  # the stale copy was taken out: the next try reads the row
    assert tries == [0, 1]
    stored = await PostgresSessions(conn).get(session.id)
    assert stored is not None and (stored.name, stored.session_tag, stored.version) == (
        "Trip", "chat_model_x_1", 2,
    )  # fmt: skip
    async with joined_unit_of_work(conn, Subjects("t"), SCHEMA) as unit:  # a unit that locks
        await PostgresUnitOfWork(unit, saved=saved).sessions.get(session.id, for_update=True)
        assert len(saved) == 0  # forgotten: its save keeps it again


def _in_batch(conn: asyncpg.Connection) -> HandlerContext:
    """The gateway consumer's context in a batch on ``conn``'s open transaction."""
    batch = Transaction(conn, Subjects("t"), SCHEMA)
    return HandlerContext(
        consumer="gateway", schema=SCHEMA, subjects=Subjects("t"), pool=None,
        broker=None, delivery=1, batch=batch,  # type: ignore[arg-type]  # no pool or broker used
    )  # fmt: skip


async def test_in_a_batch_an_event_starts_from_the_saved_copy_and_a_stale_one_fails_it(
    conn: asyncpg.Connection, statements: list[str]
) -> None:
    saved = SavedSessions()
    session = await _added(conn)
    saved.keep(copy_of(session))
    handlers = GatewayHandlers(saved=saved)
    tagged = SessionTagged(session_id=session.id, user_id="store", session_tag="chat_model_x_1",
                           model="echo", model_id=uuid.uuid4(), counter=1, label="echo 1")  # fmt: skip
    async with conn.transaction():  # the batch's transaction
        ctx = _in_batch(conn)
        await asyncio.sleep(0)
        statements.clear()
        assert await handlers.apply(replies.record_tag, tagged, ctx)
        await ctx.batch.flush()
        await asyncio.sleep(0)
    assert not any("SELECT id, user_id" in q for q in statements)  # no read: the copy kept
    stored = await PostgresSessions(conn).get(session.id)
    assert stored is not None and (stored.session_tag, stored.version) == ("chat_model_x_1", 1)

    saved.keep(copy_of(session))  # version 0: stale now
    renamed = SessionNamed(session_id=session.id, user_id="store", name="Trip", attempt=1)
    with pytest.raises(ConcurrentUpdate):  # the batch then handles its events one by one
        async with conn.transaction():
            ctx = _in_batch(conn)
            await handlers.apply(replies.apply_auto_name, renamed, ctx)
    stored = await PostgresSessions(conn).get(session.id)
    assert stored is not None and (stored.name, stored.version) == ("New chat", 1)
    assert not saved.for_batches()  # copies go stale here: batches read rows a while
    saved.keep(copy_of(session))  # stale again, and not used
    async with conn.transaction():
        ctx = _in_batch(conn)
        assert await handlers.apply(replies.apply_auto_name, renamed, ctx)
        await ctx.batch.flush()
    stored = await PostgresSessions(conn).get(session.id)
    assert stored is not None and (stored.name, stored.version) == ("Trip", 2)
