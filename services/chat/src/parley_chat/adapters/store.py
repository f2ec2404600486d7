"""Turn ledgers (table ``upstream_sessions``) and transcripts in the chat schema (asyncpg)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg

from ..domain.turns import TurnLedger
from ..domain.upstream import TranscriptTurn


async def load(
    conn: asyncpg.Connection | asyncpg.Pool, session_id: uuid.UUID, *, for_update: bool = False
) -> TurnLedger | None:
    """The turn ledger of a Parley session, or None when the chat service has none yet;
    ``for_update`` locks its row until the transaction ends."""
    row = await conn.fetchrow(
        "SELECT session_id, user_id, provider, model, upstream_id, opened_count, last_turn,"
        " failed_turns, replies FROM upstream_sessions WHERE session_id = $1"
        + (" FOR UPDATE" if for_update else ""),
        session_id,
    )
    if row is None:
        return None
    fields = dict(row)
    fields["failed_turns"] = set(fields["failed_turns"])
    return TurnLedger(**fields)


async def save(conn: asyncpg.Connection, ledger: TurnLedger) -> None:
    """Store ``ledger`` (insert or replace its row)."""
    await conn.execute(
        "INSERT INTO upstream_sessions (session_id, user_id, provider, model, upstream_id,"
        " opened_count, last_turn, failed_turns, replies) VALUES ($1, $2, $3, $4, $5, $6, $7,"
        " $8, $9) ON CONFLICT (session_id) DO UPDATE SET upstream_id = EXCLUDED.upstream_id,"
        " opened_count = EXCLUDED.opened_count, last_turn = EXCLUDED.last_turn,"
        " failed_turns = EXCLUDED.failed_turns, replies = EXCLUDED.replies, updated_at = now()",
        ledger.session_id,
        ledger.user_id,
        ledger.provider,
        ledger.model,
        ledger.upstream_id,
        ledger.opened_count,
        ledger.last_turn,
        sorted(ledger.failed_turns),
        ledger.replies,
    )


async def save_opened(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    session_id: uuid.UUID,
    user_id: str,
    provider: str,
    model: str,
    upstream_id: str,
) -> int:
    """Record a newly opened upstream session at once, outside the reply's transaction (the
    session's advisory lock is held); returns how often one was opened for it."""
    row = await conn.fetchrow(
        "INSERT INTO upstream_sessions (session_id, user_id, provider, model, upstream_id,"
        " opened_count) VALUES ($1, $2, $3, $4, $5, 1)"
        " ON CONFLICT (session_id) DO UPDATE SET upstream_id = EXCLUDED.upstream_id,"
        " provider = EXCLUDED.provider, model = EXCLUDED.model,"
        " opened_count = upstream_sessions.opened_count + 1, updated_at = now()"
        " RETURNING opened_count",
        session_id,
        user_id,
        provider,
        model,
        upstream_id,
    )
    assert row is not None
    return int(row["opened_count"])


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
