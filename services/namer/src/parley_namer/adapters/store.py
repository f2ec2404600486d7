"""Naming state, exchanges and attempts in the namer schema (asyncpg)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from ..domain.names import MAX_INPUT_CHARS, Turn


async def ensure_state(
    conn: asyncpg.Connection, session_id: uuid.UUID, user_id: str, status: str = "pending"
) -> None:
    """Create the session's naming state if missing."""
    await conn.execute(
        "INSERT INTO naming_state (session_id, user_id, status) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING",
        session_id,
        user_id,
        status,
    )


async def get_state(
    conn: asyncpg.Connection | asyncpg.Pool, session_id: uuid.UUID, *, for_update: bool = False
) -> dict[str, Any] | None:
    """The session's naming state, or None."""
    row = await conn.fetchrow(
        "SELECT * FROM naming_state WHERE session_id = $1" + (" FOR UPDATE" if for_update else ""),
        session_id,
    )
    return dict(row) if row else None


async def add_exchange(
    conn: asyncpg.Connection, session_id: uuid.UUID, turn: int, role: str, content: str
) -> None:
    """Keep one message of the first exchanges, cut to 500 characters."""
    await conn.execute(
        "INSERT INTO exchanges (session_id, turn, role, content) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING",
        session_id,
        turn,
        role,
        content[:MAX_INPUT_CHARS],
    )


async def exchanges(
    conn: asyncpg.Connection | asyncpg.Pool, session_id: uuid.UUID
) -> dict[tuple[int, str], Turn]:
    """The kept messages, keyed by ``(turn, role)``."""
    rows = await conn.fetch(
        "SELECT turn, role, content FROM exchanges WHERE session_id = $1", session_id
    )
    return {(r["turn"], r["role"]): Turn(role=r["role"], content=r["content"]) for r in rows}


def in_order(kept: dict[tuple[int, str], Turn]) -> list[Turn]:
    """Kept messages in conversation order: by turn, the user's before the reply."""
    return [kept[key] for key in sorted(kept, key=lambda k: (k[0], k[1] != "user"))]


async def record_attempt(
    conn: asyncpg.Connection,
    session_id: uuid.UUID,
    *,
    trigger_turn: int,
    outcome: str,
    name: str | None,
    language: str | None,
    detail: str | None,
    duration_ms: int,
) -> int:
    """Count an attempt on the state and record it; returns the attempt number."""
    attempt = await conn.fetchval(
        "UPDATE naming_state SET attempts = attempts + 1, updated_at = now()"
        " WHERE session_id = $1 RETURNING attempts",
        session_id,
    )
    await conn.execute(
        "INSERT INTO naming_attempts (session_id, attempt, trigger_turn, outcome, name, language,"
        " detail, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        session_id,
        attempt,
        trigger_turn,
        outcome,
        name,
        language,
        detail,
        duration_ms,
    )
    return int(attempt)


async def set_named(
    conn: asyncpg.Connection, session_id: uuid.UUID, name: str, language: str | None
) -> None:
    """Mark the session named automatically."""
    await conn.execute(
        "UPDATE naming_state SET status = 'named', name = $2, language = $3, updated_at = now()"
        " WHERE session_id = $1",
        session_id,
        name,
        language,
    )


async def set_user_named(
    conn: asyncpg.Connection, session_id: uuid.UUID, user_id: str, name: str
) -> None:
    """The user named the session: never name it automatically again."""
    await conn.execute(
        "INSERT INTO naming_state (session_id, user_id, status, name) VALUES ($1, $2, 'user', $3)"
        " ON CONFLICT (session_id) DO UPDATE SET status = 'user', name = EXCLUDED.name,"
        " updated_at = now()",
        session_id,
        user_id,
        name,
    )


async def erase_session(conn: asyncpg.Connection, session_id: uuid.UUID) -> None:
    """Erase all the namer keeps of a session."""
    for table in ("exchanges", "naming_attempts", "naming_state"):
        await conn.execute(f"DELETE FROM {table} WHERE session_id = $1", session_id)
