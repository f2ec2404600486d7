"""The tagger's store on a real PostgreSQL: a user's counters per model, taken with the model's
registration in one statement; a reply becomes a trace carrying its session's tag in one
statement without a transaction, none for a session that opted out, refused whole for one that
has no tag yet."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from parley_contracts import Subjects
from parley_runtime import WriteConflict
from parley_runtime.uow import joined_unit_of_work
from parley_tagger.adapters import store
from parley_tagger.app import MIGRATIONS  # noqa: F401 - read by the conn fixture, with SCHEMA

SCHEMA = "taggerstore"


async def _tagged(conn: asyncpg.Connection, *, opt_out: bool) -> tuple[uuid.UUID, uuid.UUID]:
    """A new session with a tag; returns ``(session id, model id)``."""
    session_id, user = uuid.uuid4(), f"u-{uuid.uuid4().hex[:8]}"
    model_id, counter = await store.next_counter(conn, user, "echo")
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
    first, one = await store.next_counter(conn, user, model, "echo")
    again, two = await store.next_counter(conn, user, model)
    _, elsewhere = await store.next_counter(conn, other, model)
    _, another_model = await store.next_counter(conn, user, f"{model}-b")
    assert first == again and (one, two, elsewhere, another_model) == (1, 2, 1, 1)
    registered = await conn.fetch("SELECT id, provider FROM llm_models WHERE name = $1", model)
    assert [tuple(r) for r in registered] == [(first, "echo")]
