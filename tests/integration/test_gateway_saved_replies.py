"""A gateway replica stores the reply to a message it posted from its saved copies, on a real
PostgreSQL: the session and the user message are not read, only saved, guarded on the
session's version and on no reply being stored yet; a reply stored meanwhile (or a copy made
stale) refuses that save, and the reply is then stored from a read, once."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from parley_contracts import ReplyCompleted, Subjects
from parley_gateway.adapters.repositories import PostgresSessions
from parley_gateway.adapters.saved_sessions import SavedSessions
from parley_gateway.adapters.unit_of_work import PostgresUnitOfWork
from parley_gateway.app import MIGRATIONS  # noqa: F401 - read by the conn fixture, with SCHEMA
from parley_gateway.application import replies
from parley_gateway.domain.messages import Message
from parley_gateway.domain.sessions import Session
from parley_runtime import WriteConflict
from parley_runtime.uow import joined_unit_of_work

SCHEMA = "gatewaysavedreplies"


async def _posted(conn: asyncpg.Connection, saved: SavedSessions) -> tuple[Session, Message]:
    """A new session of the user ``store`` with one user message, both posted by this replica
    (kept in ``saved``)."""
    session = Session(id=uuid.uuid4(), user_id="store", name="New chat",
                      name_source="default", model="echo")  # fmt: skip
    sessions = PostgresSessions(conn, saved=saved)
    await sessions.add(session)
    asked = session.append(Message.from_user(uuid.uuid4(), session.id, "Hello?"))
    await sessions.save(session, [asked])
    return session, asked


def _reply(asked: Message) -> ReplyCompleted:
    return ReplyCompleted(
        session_id=asked.session_id, user_id="store", message_id=uuid.uuid4(),
        reply_to=asked.id, turn=1, content="Hi!", prompt=asked.content, model="echo",
        provider="echo", upstream_session_id="up-1", latency_ms=3,
    )  # fmt: skip


async def _store(
    conn: asyncpg.Connection, saved: SavedSessions | None, event: ReplyCompleted
) -> None:
    """Store ``event``'s reply as the consumer does alone: one optimistic unit of work."""
    async with joined_unit_of_work(conn, Subjects("t"), SCHEMA, optimistic=True) as unit:
        assert await replies.store_reply(PostgresUnitOfWork(unit, saved=saved), event)
    unit.committed()


async def _stored(conn: asyncpg.Connection, asked: Message) -> tuple[str, int, int]:
    """``(the asked message's status, the session's message count, replies stored)``."""
    status = await conn.fetchval("SELECT status FROM messages WHERE id = $1", asked.id)
    count = await conn.fetchval(
        "SELECT message_count FROM sessions WHERE id = $1", asked.session_id
    )
    stored = await conn.fetchval("SELECT count(*) FROM messages WHERE reply_to = $1", asked.id)
    return status, count, stored


async def test_a_reply_to_a_message_this_replica_posted_is_stored_without_a_read(
    conn: asyncpg.Connection, statements: list[str]
) -> None:
    saved = SavedSessions()
    _, asked = await _posted(conn, saved)
    await asyncio.sleep(0)
    statements.clear()
    await _store(conn, saved, _reply(asked))
    await asyncio.sleep(0)
    sent = [q for q in statements if not q.startswith("\n") and "typeinfo_tree" not in q]
    assert len(sent) == 1 and "UPDATE sessions" in sent[0] and "NOT EXISTS" in sent[0]
    assert await _stored(conn, asked) == ("answered", 2, 1)


async def test_a_reply_stored_meanwhile_refuses_the_save_from_the_copies(
    conn: asyncpg.Connection,
) -> None:
    saved = SavedSessions()
    session, asked = await _posted(conn, saved)
    await _store(conn, None, _reply(asked))  # stored meanwhile, from a read (another replica)
    saved.keep(await PostgresSessions(conn).get(session.id))  # a copy as fresh as can be
    with pytest.raises(WriteConflict):  # the copy of the message knows of no reply
        await _store(conn, saved, _reply(asked))
    assert await _stored(conn, asked) == ("answered", 2, 1)
    await _store(conn, saved, _reply(asked))  # read again: the reply is there, kept once
    assert await _stored(conn, asked) == ("answered", 2, 1)
