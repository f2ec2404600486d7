"""The tagger's store on a real PostgreSQL: a user's counters per model, taken with the model's
registration in one statement; a reply becomes a trace carrying its session's tag in one
statement without a transaction, none for a session that opted out, refused whole for one that
has no tag yet; a new session of a model seen before is tagged in one statement after its read,
refused whole when another session took the counter or tagged it first, and tagged again."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from parley_contracts import SessionCreated, Subjects
from parley_runtime import HandlerContext, WriteConflict
from parley_runtime.uow import joined_unit_of_work
from parley_tagger.adapters import store
from parley_tagger.app import MIGRATIONS  # noqa: F401 - read by the conn fixture, with SCHEMA
from parley_tagger.application import tagging
from stack import Servers, own_statements

SCHEMA = "taggerstore"


async def _take(
    conn: asyncpg.Connection, user: str, model: str, provider: str | None = None
) -> tuple[uuid.UUID, int]:
    """The next counter of ``user`` for ``model``, taken for a new session."""
    taken = await store.next_counter(conn, uuid.uuid4(), user, model, provider)
    assert taken is not None  # a new session is untagged
    return taken


async def _tagged(conn: asyncpg.Connection, *, opt_out: bool) -> tuple[uuid.UUID, uuid.UUID]:
    """A new session with a tag; returns ``(session id, model id)``."""
    session_id, user = uuid.uuid4(), f"u-{uuid.uuid4().hex[:8]}"
    model_id, counter = await _take(conn, user, "echo")
    await store.insert_session_tag(
        conn, session_id=session_id, user_id=user, model_id=model_id, counter=counter,
        tag=f"chat_model_test_{counter}", analytics_opt_out=opt_out,
    )  # fmt: skip
    return session_id, model_id


def _reply(session_id: uuid.UUID, **changes: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(), "session_id": session_id, "user_id": "someone", "model": "echo",
        "provider": "echo", "turn": 1, "input": "Hi?", "output": "Hi.",
        "upstream_session_id": "up-1", "latency_ms": 12, "input_tokens": None,
        "output_tokens": 3, "upstream_response_id": None, "finish_reason": "stop", "retries": 0,
        "upstream_done_at": None, "correlation_id": uuid.uuid4(),
        "created_at": datetime.now(UTC), **changes,
    }  # fmt: skip


async def _record(conn: asyncpg.Connection, reply: dict[str, Any]) -> None:
    """Record ``reply`` as the tagger does: in an optimistic unit of work (no transaction)."""
    async with joined_unit_of_work(conn, Subjects("t"), SCHEMA, optimistic=True) as uow:
        await store.record_trace(uow, **reply)


async def test_a_reply_is_recorded_with_its_sessions_tag_in_one_statement(
    conn: asyncpg.Connection, statements: list[str]
) -> None:
    session_id, model_id = await _tagged(conn, opt_out=False)
    reply = _reply(session_id)
    await asyncio.sleep(0)  # asyncpg calls query loggers soon after, not during, a statement
    statements.clear()
    await _record(conn, reply)
    await asyncio.sleep(0)
    sent = [q for q in statements if not q.startswith("\n") and "typeinfo_tree" not in q]
    assert len(sent) == 1 and "INSERT INTO llm_traces" in sent[0]
    row = await conn.fetchrow("SELECT * FROM llm_traces WHERE id = $1", reply["id"])
    assert row["session_tag"] == "chat_model_test_1" and row["model_id"] == model_id
    assert {k: row[k] for k in reply} == reply

    await _record(conn, {**reply, "output": "changed"})
    assert await conn.fetchval("SELECT output FROM llm_traces WHERE id = $1", reply["id"]) == "Hi."


async def test_no_trace_for_a_session_that_opted_out_or_has_no_tag_yet(
    conn: asyncpg.Connection,
) -> None:
    private, _ = await _tagged(conn, opt_out=True)
    await _record(conn, _reply(private))
    untagged = uuid.uuid4()
    with pytest.raises(WriteConflict):  # refused whole: tried again once the tag exists
        await _record(conn, _reply(untagged))
    recorded = await conn.fetchval(
        "SELECT count(*) FROM llm_traces WHERE session_id = ANY($1)", [private, untagged]
    )
    assert recorded == 0


async def test_counters_count_per_user_and_model_and_register_a_model_once(
    conn: asyncpg.Connection,
) -> None:
    user, other = f"u-{uuid.uuid4().hex[:8]}", f"u-{uuid.uuid4().hex[:8]}"
    model = f"model-{uuid.uuid4().hex[:8]}"
    first, one = await _take(conn, user, model, "echo")
    again, two = await _take(conn, user, model)
    _, elsewhere = await _take(conn, other, model)
    _, another_model = await _take(conn, user, f"{model}-b")
    assert first == again and (one, two, elsewhere, another_model) == (1, 2, 1, 1)
    registered = await conn.fetch("SELECT id, provider FROM llm_models WHERE name = $1", model)
    assert [tuple(r) for r in registered] == [(first, "echo")]


async def test_a_known_model_is_not_written_again_and_a_tagged_session_takes_nothing(
    conn: asyncpg.Connection,
) -> None:
    model, user = await _registered(conn), f"u-{uuid.uuid4().hex[:8]}"
    version = "SELECT xmin::text FROM llm_models WHERE name = $1"
    written = await conn.fetchval(version, model)
    session_id, (model_id, counter) = uuid.uuid4(), await _take(conn, user, model)
    assert await conn.fetchval(version, model) == written  # read, not upserted again
    await store.insert_session_tag(
        conn, session_id=session_id, user_id=user, model_id=model_id, counter=counter,
        tag=f"chat_model_test_{counter}", analytics_opt_out=False,
    )  # fmt: skip
    assert await store.next_counter(conn, session_id, user, model) is None
    assert await _take(conn, user, model) == (model_id, counter + 1)  # nothing was taken


async def _registered(conn: asyncpg.Connection) -> str:
    """A model seen before (another user's session of it); returns its name."""
    model = f"model-{uuid.uuid4().hex[:8]}"
    await _take(conn, f"u-{uuid.uuid4().hex[:8]}", model, "echo")
    return model


async def _tag_as_read(
    conn: asyncpg.Connection, read: store.TaggingInput, session_id: uuid.UUID, user: str
) -> int:
    """Tag a session as the tagger does alone: in an optimistic unit of work."""
    async with joined_unit_of_work(conn, Subjects("t"), SCHEMA, optimistic=True) as uow:
        return await store.tag_as_read(
            uow, read, session_id=session_id, user_id=user, tag=f"tag-{session_id.hex[:6]}",
            analytics_opt_out=False,
        )  # fmt: skip


async def test_a_session_is_tagged_as_read_in_one_statement(
    conn: asyncpg.Connection, statements: list[str]
) -> None:
    model, user = await _registered(conn), f"u-{uuid.uuid4().hex[:8]}"
    counters = []
    for _ in range(2):  # the user's first session of the model, then the next
        session_id = uuid.uuid4()
        read = await store.tagging_input(conn, session_id, user, model)
        assert read.model_id is not None and not read.tagged
        await asyncio.sleep(0)
        statements.clear()
        counters.append(await _tag_as_read(conn, read, session_id, user))
        await asyncio.sleep(0)
        sent = [q for q in statements if not q.startswith("\n") and "typeinfo_tree" not in q]
        assert len(sent) == 1 and "INSERT INTO session_tags" in sent[0]
        assert (await store.tagging_input(conn, session_id, user, model)).tagged
    assert counters == [1, 2]
    stored = await conn.fetch(
        "SELECT t.counter FROM session_tags t JOIN llm_models m ON m.id = t.model_id"
        " WHERE t.user_id = $1 AND m.name = $2 ORDER BY counter",
        user, model,
    )  # fmt: skip
    assert [r["counter"] for r in stored] == [1, 2]


async def test_a_counter_taken_meanwhile_refuses_the_tag_whole(conn: asyncpg.Connection) -> None:
    model = await _registered(conn)
    for taken_before in (False, True):  # the user's first counter, then a later one
        user, session_id = f"u-{uuid.uuid4().hex[:8]}", uuid.uuid4()
        if taken_before:
            await _take(conn, user, model)
        read = await store.tagging_input(conn, session_id, user, model)
        _, taken = await _take(conn, user, model)  # another session, meanwhile
        with pytest.raises(WriteConflict):
            await _tag_as_read(conn, read, session_id, user)
        assert not (await store.tagging_input(conn, session_id, user, model)).tagged
        last = await conn.fetchval(
            "SELECT last_counter FROM tag_counters c JOIN llm_models m ON m.id = c.model_id"
            " WHERE c.user_id = $1 AND m.name = $2",
            user, model,
        )  # fmt: skip
        assert last == taken  # the refused statement took nothing


async def test_a_session_tagged_meanwhile_is_not_tagged_again(conn: asyncpg.Connection) -> None:
    model, user, session_id = await _registered(conn), f"u-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    read = await store.tagging_input(conn, session_id, user, model)
    await _tag_as_read(conn, read, session_id, user)
    with pytest.raises(WriteConflict):  # the same read again: the counter moved, the tag exists
        await _tag_as_read(conn, read, session_id, user)
    again = await store.tagging_input(conn, session_id, user, model)
    with pytest.raises(WriteConflict):  # a fresh read of the counter: the session has a tag
        await _tag_as_read(conn, again, session_id, user)
    assert await conn.fetchval("SELECT count(*) FROM session_tags WHERE user_id = $1", user) == 1


@pytest.fixture
def ctx(pool: asyncpg.Pool, servers: Servers) -> HandlerContext:
    """The tagger consumer's handler context on ``pool``."""
    return HandlerContext(
        consumer="tagger", schema=SCHEMA, subjects=Subjects(servers.prefix), pool=pool,
        broker=None, delivery=1,  # type: ignore[arg-type]  # tagging uses no broker
    )  # fmt: skip


def _created(model: str, user: str) -> SessionCreated:
    return SessionCreated(session_id=uuid.uuid4(), user_id=user, name="New chat",
                          name_source="default", model=model)  # fmt: skip


async def test_a_new_session_alone_costs_a_read_and_one_statement(
    ctx: HandlerContext, conn: asyncpg.Connection, statements: list[str]
) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    new_model = _created(f"model-{uuid.uuid4().hex[:8]}", user)
    await tagging.session_created(new_model, ctx)  # a model never seen: in a transaction
    seen = _created(new_model.model, user)
    await asyncio.sleep(0)
    statements.clear()
    await tagging.session_created(seen, ctx)
    await asyncio.sleep(0.01)
    sent = own_statements(statements)
    assert len(sent) == 2 and "BEGIN" not in sent  # the read, then the guarded write
    events = await conn.fetch(
        "SELECT convert_from(payload, 'UTF8')::jsonb AS e FROM outbox"
        " WHERE event_type = 'session.tagged' AND convert_from(payload, 'UTF8')::jsonb"
        "->>'user_id' = $1 ORDER BY id",
        user,
    )
    tagged = [json.loads(r["e"]) for r in events]
    assert [(t["session_id"], t["counter"]) for t in tagged] == [
        (str(new_model.session_id), 1), (str(seen.session_id), 2),
    ]  # fmt: skip
    handled = await conn.fetchval(
        "SELECT count(*) FROM inbox WHERE consumer = 'tagger' AND event_id = ANY($1::uuid[])",
        [new_model.event_id, seen.event_id],
    )
    assert handled == 2


async def test_sessions_of_one_user_tagged_at_once_take_distinct_counters(
    ctx: HandlerContext, conn: asyncpg.Connection
) -> None:
    model, user = await _registered(conn), f"u-{uuid.uuid4().hex[:8]}"
    sessions = [_created(model, user) for _ in range(4)]
    await asyncio.gather(*(tagging.session_created(s, ctx) for s in sessions))
    counters = await conn.fetch("SELECT counter FROM session_tags WHERE user_id = $1", user)
    assert sorted(r["counter"] for r in counters) == [1, 2, 3, 4]
