"""The gateway's session store on a real PostgreSQL: a session is saved with the messages it
appended or changed in one statement, a new message inserted and a loaded one updated; a
session is read with a message and its reply in one statement; in a unit of work, a session is
saved with the unit's outbox rows, in its last statement; without a transaction (optimistic), a
session is saved over the version it was read at, or refused whole. Sessions written again from
a replica's kept copy: ``test_gateway_saved_sessions.py``."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from parley_contracts import SessionDeleted, SessionTagged, Subjects
from parley_gateway.adapters.messages_repository import PostgresMessages
from parley_gateway.adapters.repositories import PostgresSessions
from parley_gateway.adapters.unit_of_work import PostgresUnitOfWork
from parley_gateway.app import MIGRATIONS  # noqa: F401 - read by the conn fixture, with SCHEMA
from parley_gateway.consumers import GatewayHandlers
from parley_gateway.domain.messages import Message
from parley_gateway.domain.sessions import Session
from parley_runtime import HandlerContext, WriteConflict
from parley_runtime.uow import joined_unit_of_work
from stack import Servers

SCHEMA = "gatewaystore"


async def _added(conn: asyncpg.Connection) -> Session:
    """A new session of the user ``store``, added."""
    session = Session(id=uuid.uuid4(), user_id="store", name="New chat", name_source="default",
                      model="echo")  # fmt: skip
    await PostgresSessions(conn).add(session)
    return session


async def test_a_session_is_saved_with_its_new_and_changed_messages_in_one_statement(
    conn: asyncpg.Connection, statements: list[str]
) -> None:
    sessions, messages = PostgresSessions(conn), PostgresMessages(conn)
    session = await _added(conn)
    asked = session.append(Message.from_user(uuid.uuid4(), session.id, "Hello?"))
    await sessions.save(session, [asked])

    loaded, none = await messages.with_reply(asked.id)
    assert loaded is not None and loaded.status == "pending" and none is None
    reply = session.append(Message.reply(uuid.uuid4(), session.id, asked.id, "Hi."))
    loaded.answer(reply)
    await asyncio.sleep(0)  # asyncpg calls query loggers soon after, not during, a statement
    statements.clear()
    await sessions.save(session, [reply, loaded])
    await asyncio.sleep(0)

    writes = [q for q in statements if "INTO messages" in q or "UPDATE sessions" in q]
    assert len(writes) == 1  # (asyncpg also reads the array types once per connection)
    assert "INTO messages" in writes[0] and "UPDATE sessions" in writes[0]
    stored, stored_reply = await messages.with_reply(asked.id)
    assert stored == loaded and stored_reply == reply
    assert await sessions.get(session.id) == session  # counters moved with the messages


async def test_a_session_is_read_with_a_message_and_its_reply_in_one_statement(
    conn: asyncpg.Connection, statements: list[str]
) -> None:
    sessions = PostgresSessions(conn)
    session = await _added(conn)
    asked = session.append(Message.from_user(uuid.uuid4(), session.id, "Hello?"))
    await sessions.save(session, [asked])

    assert await sessions.get_with_reply(session.id, asked.id) == (session, asked, None)
    reply = session.append(Message.reply(uuid.uuid4(), session.id, asked.id, "Hi."))
    asked.answer(reply)
    await sessions.save(session, [reply, asked])
    await asyncio.sleep(0)
    statements.clear()
    async with conn.transaction():
        assert await sessions.get_with_reply(session.id, asked.id) == (session, asked, reply)
        await asyncio.sleep(0)
        reads = [q for q in statements if q.startswith("SELECT")]
        assert len(reads) == 1 and "FOR UPDATE OF s" in reads[0]
    assert await sessions.get_with_reply(session.id, uuid.uuid4()) == (session, None, None)
    assert await sessions.get_with_reply(uuid.uuid4(), asked.id) == (None, None, None)


async def test_in_a_unit_of_work_a_session_is_saved_with_the_outbox_rows_in_one_statement(
    conn: asyncpg.Connection, statements: list[str]
) -> None:
    session = await _added(conn)
    asked = session.append(Message.from_user(uuid.uuid4(), session.id, "Hello?"))
    await asyncio.sleep(0)
    statements.clear()
    async with conn.transaction():
        async with joined_unit_of_work(conn, Subjects("t"), SCHEMA) as transaction:
            uow = PostgresUnitOfWork(transaction)
            await uow.sessions.save(session, [asked])
            await uow.publish(SessionDeleted(session_id=session.id, user_id="store"))
            await asyncio.sleep(0)
            assert statements == ["BEGIN;"]  # nothing is sent before the unit's end
    await asyncio.sleep(0)
    writes = [q for q in statements if "INTO outbox" in q or "UPDATE sessions" in q]
    assert len(writes) == 1  # (asyncpg also reads the array types once per connection)
    assert "UPDATE sessions" in writes[0] and "INTO messages" in writes[0]
    assert "INTO outbox" in writes[0] and statements[-1] == "COMMIT;"
    assert await PostgresSessions(conn).get_with_reply(session.id, asked.id) == (
        session, asked, None,
    )  # fmt: skip
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE subject LIKE $1",
                               f"%{session.id}") == 1  # fmt: skip


async def test_an_optimistic_unit_saves_a_session_over_the_version_it_read_in_one_statement(
    conn: asyncpg.Connection, statements: list[str]
) -> None:
    session = await _added(conn)
    await asyncio.sleep(0)
    statements.clear()
    async with joined_unit_of_work(conn, Subjects("t"), SCHEMA, optimistic=True) as transaction:
        uow = PostgresUnitOfWork(transaction)
        read = await uow.sessions.get(session.id, "store", for_update=True)  # no lock taken
        assert read is not None and read.version == 0
        assert (await uow.sessions.get_with_reply(session.id, uuid.uuid4()))[0] == read
        asked = read.append(Message.from_user(uuid.uuid4(), session.id, "Hello?"))
        await uow.sessions.save(read, [asked])
        await uow.publish(SessionDeleted(session_id=session.id, user_id="store"))
    await asyncio.sleep(0)
    # (asyncpg looks types up once per connection, in statements of its own)
    sent = [q for q in statements if not q.startswith("\n") and "typeinfo_tree" not in q]
    assert len(sent) == 3 and not any("FOR UPDATE" in q for q in sent)  # two reads, one write
    assert "UPDATE sessions" in sent[2] and "INTO outbox" in sent[2]
    stored = await PostgresSessions(conn).get(session.id)
    assert stored == read and stored is not None and stored.version == 1


async def test_a_save_over_a_version_saved_meanwhile_is_refused_and_writes_nothing(
    conn: asyncpg.Connection,
) -> None:
    sessions = PostgresSessions(conn)
    session = await _added(conn)
    first, stale, also_stale = [await sessions.get(session.id) for _ in range(3)]
    assert first is not None and stale is not None and also_stale is not None
    first.name, first.name_source = "Renamed", "user"
    await sessions.save(first)  # another request saves it first
    asked = stale.append(Message.from_user(uuid.uuid4(), session.id, "Hello?"))
    with pytest.raises(WriteConflict):
        async with joined_unit_of_work(conn, Subjects("t"), SCHEMA, optimistic=True) as unit:
            await PostgresUnitOfWork(unit).sessions.save(stale, [asked])
            await unit.publish(SessionDeleted(session_id=session.id, user_id="store"))
    assert await sessions.get(session.id) == first  # the rename stands, one version on
    assert await conn.fetchval("SELECT count(*) FROM messages WHERE session_id = $1",
                               session.id) == 0  # fmt: skip
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE subject LIKE $1",
                               f"%{session.id}") == 0  # fmt: skip
    with pytest.raises(WriteConflict):  # outside a unit of work too
        await sessions.save(also_stale)


async def test_an_event_whose_session_was_saved_meanwhile_is_applied_again_on_a_new_read(
    conn: asyncpg.Connection, servers: Servers
) -> None:
    session = await _added(conn)
    event = SessionTagged(session_id=session.id, user_id="store", session_tag="chat_model_x_1",
                          model="echo", model_id=uuid.uuid4(), counter=1, label="echo 1")  # fmt: skip
    optimistic: list[bool] = []

    async def tag_racing_a_rename(uow: PostgresUnitOfWork, tagged: SessionTagged) -> bool:
        read = await uow.sessions.get(tagged.session_id, for_update=True)
        assert read is not None
        optimistic.append(uow.transaction.optimistic)
        if len(optimistic) == 1:  # another request renames the session after this read
            renamed = await PostgresSessions(conn).get(tagged.session_id)
            assert renamed is not None
            renamed.rename("Trip", 100)
            await PostgresSessions(conn).save(renamed)
        read.tag(tagged.session_tag, tagged.label)
        await uow.sessions.save(read)
        return True

    pool = await asyncpg.create_pool(servers.database_url, server_settings={"search_path": SCHEMA})
    try:
        ctx = HandlerContext(consumer="gateway", schema=SCHEMA, subjects=Subjects("t"), pool=pool,
                             broker=None, delivery=1)  # type: ignore[arg-type]  # fmt: skip
        assert await GatewayHandlers().apply(tag_racing_a_rename, event, ctx)
    finally:
        await pool.close()
    assert optimistic == [True, True]  # refused once, then applied on a new read
    stored = await PostgresSessions(conn).get(session.id)
    assert stored is not None and stored.version == 2
    assert (stored.name, stored.session_tag) == ("Trip", "chat_model_x_1")  # both changes stand
    assert await conn.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1",
                               event.event_id) == 1  # fmt: skip
