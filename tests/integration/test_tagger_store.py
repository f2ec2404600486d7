"""The tagger's store on a real PostgreSQL: a user's counters per model, taken with the model's
registration in one statement; a reply becomes a trace carrying its session's tag in one
statement, none for a session that opted out or has no tag yet."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
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


async def test_a_reply_is_recorded_with_its_sessions_tag_in_one_statement(
    conn: asyncpg.Connection, statements: list[str]
) -> None:
    session_id, model_id = await _tagged(conn, opt_out=False)
    reply = _reply(session_id)
    await asyncio.sleep(0)  # asyncpg calls query loggers soon after, not during, a statement
    statements.clear()
    tag = await store.record_trace(conn, **reply)
    await asyncio.sleep(0)
    assert len(statements) == 1
    assert tag == {"session_tag": "chat_model_test_1", "model_id": model_id,
                   "analytics_opt_out": False}  # fmt: skip
    row = await conn.fetchrow("SELECT * FROM llm_traces WHERE id = $1", reply["id"])
    assert row["session_tag"] == "chat_model_test_1" and row["model_id"] == model_id
    assert {k: row[k] for k in reply} == reply

    again = await store.record_trace(conn, **{**reply, "output": "changed"})
    assert again == tag
    assert await conn.fetchval("SELECT output FROM llm_traces WHERE id = $1", reply["id"]) == "Hi."


async def test_no_trace_for_a_session_that_opted_out_or_has_no_tag_yet(
    conn: asyncpg.Connection,
) -> None:
    private, _ = await _tagged(conn, opt_out=True)
    tag = await store.record_trace(conn, **_reply(private))
    assert tag is not None and tag["analytics_opt_out"] is True
    untagged = uuid.uuid4()
    assert await store.record_trace(conn, **_reply(untagged)) is None
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
