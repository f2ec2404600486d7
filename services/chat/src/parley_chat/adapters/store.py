"""Upstream sessions and transcripts in the chat schema (asyncpg)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from ..domain.ordering import advance
from ..domain.upstream import TranscriptTurn


async def get_upstream(
    conn: asyncpg.Connection | asyncpg.Pool, session_id: uuid.UUID, *, for_update: bool = False
) -> dict[str, Any] | None:
    """The upstream session row of a Parley session, or None."""
    row = await conn.fetchrow(
        "SELECT * FROM upstream_sessions WHERE session_id = $1"
        + (" FOR UPDATE" if for_update else ""),
        session_id,
    )
    return dict(row) if row else None


async def save_opened(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    session_id: uuid.UUID,
    user_id: str,
    provider: str,
    model: str,
    upstream_id: str,
) -> dict[str, Any]:
    """Record a newly opened upstream session (counting how often one was opened)."""
    row = await conn.fetchrow(
        "INSERT INTO upstream_sessions (session_id, user_id, provider, model, upstream_id,"
        " opened_count) VALUES ($1, $2, $3, $4, $5, 1)"
        " ON CONFLICT (session_id) DO UPDATE SET upstream_id = EXCLUDED.upstream_id,"
        " provider = EXCLUDED.provider, model = EXCLUDED.model,"
        " opened_count = upstream_sessions.opened_count + 1, updated_at = now() RETURNING *",
        session_id,
        user_id,
        provider,
        model,
        upstream_id,
    )
    assert row is not None
    return dict(row)


async def settle_turn(
    conn: asyncpg.Connection,
    *,
    session_id: uuid.UUID,
    user_id: str,
    provider: str,
    model: str,
    turn: int,
    answered: bool,
) -> bool:
    """Settle ``turn`` (answered or given up); False if it was settled already.

    A turn settles when it is the next one after ``last_turn``; later turns given up before then
    are remembered in ``failed_turns`` and settled as soon as their predecessors are. A given-up
    turn that is not next is recorded there (True: this call settled its fate).
    """
    row = await get_upstream(conn, session_id, for_update=True)
    if row is None:
        await conn.execute(
            "INSERT INTO upstream_sessions (session_id, user_id, provider, model) VALUES"
            " ($1, $2, $3, $4)",
            session_id,
            user_id,
            provider,
            model,
        )
        row = {"last_turn": 0, "failed_turns": []}
    failed = set(row["failed_turns"])
    if turn <= row["last_turn"] or turn in failed:
        return False
    last = advance(row["last_turn"], turn, failed)
    if last is None:
        if answered:
            return False
        failed.add(turn)
    else:
        failed = {t for t in failed if t > last}
    await conn.execute(
        "UPDATE upstream_sessions SET last_turn = $2, failed_turns = $3, replies = replies + $4,"
        " updated_at = now() WHERE session_id = $1",
        session_id,
        last if last is not None else row["last_turn"],
        sorted(failed),
        1 if answered else 0,
    )
    return True


async def append_transcript(
    conn: asyncpg.Connection, session_id: uuid.UUID, turn: int, user: str, assistant: str
) -> None:
    """Keep both messages of a settled turn."""
    await conn.executemany(
        "INSERT INTO transcript (session_id, turn, role, content) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING",
        [(session_id, turn, "user", user), (session_id, turn, "assistant", assistant)],
    )


async def transcript(
    conn: asyncpg.Connection | asyncpg.Pool, session_id: uuid.UUID
) -> list[TranscriptTurn]:
    """The session's earlier messages in order (user before assistant in each turn)."""
    rows = await conn.fetch(
        "SELECT role, content FROM transcript WHERE session_id = $1"
        " ORDER BY turn, CASE role WHEN 'user' THEN 0 ELSE 1 END",
        session_id,
    )
    return [TranscriptTurn(r["role"], r["content"]) for r in rows]


async def erase_session(conn: asyncpg.Connection, session_id: uuid.UUID) -> None:
    """Erase everything the chat service keeps of a session."""
    await conn.execute("DELETE FROM transcript WHERE session_id = $1", session_id)
    await conn.execute("DELETE FROM upstream_sessions WHERE session_id = $1", session_id)


async def save_head(
    conn: asyncpg.Connection, session_id: uuid.UUID, upstream_id: str, *, opened: bool
) -> None:
    """Store the upstream session to continue next (in the reply's transaction); ``opened``
    counts it as a newly opened upstream session."""
    await conn.execute(
        "UPDATE upstream_sessions SET upstream_id = $2, opened_count = opened_count + $3,"
        " updated_at = now() WHERE session_id = $1",
        session_id,
        upstream_id,
        1 if opened else 0,
    )


def lock_key(session_id: uuid.UUID) -> int:
    """The PostgreSQL advisory lock key of a session: its UUID's first 64 bits, signed."""
    return int.from_bytes(session_id.bytes[:8], "big", signed=True)


@contextlib.asynccontextmanager
async def session_lock(pool: asyncpg.Pool, session_id: uuid.UUID) -> AsyncIterator[bool]:
    """Try to take the session's advisory lock (``pg_try_advisory_lock``) for the block, on a
    connection of its own, so that no two chat processes call the upstream for one session at
    once; yields whether it was taken (False: another holder has it)."""
    async with pool.acquire() as conn:
        key = lock_key(session_id)
        held = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", key))
        try:
            yield held
        finally:
            if held:
                await conn.execute("SELECT pg_advisory_unlock($1)", key)
