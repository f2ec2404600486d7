"""Naming state, exchanges and attempts in the namer schema (asyncpg): this module satisfies
:class:`~parley_namer.domain.ports.NamingStore` as it is."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from ..domain.names import MAX_INPUT_CHARS, Turn
from ..domain.ports import Exchanges, NamingState


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
) -> NamingState | None:
    """The session's naming state (locked for the transaction with ``for_update``), or None."""
    row = await conn.fetchrow(
        "SELECT session_id, user_id, status, name, language, attempts, analytics_opt_out"
        " FROM naming_state WHERE session_id = $1" + (" FOR UPDATE" if for_update else ""),
        session_id,
    )
    return NamingState(**dict(row)) if row else None


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


async def exchanges(conn: asyncpg.Connection | asyncpg.Pool, session_id: uuid.UUID) -> Exchanges:
    """The kept messages, keyed by ``(turn, role)``."""
    rows = await conn.fetch(
        "SELECT turn, role, content FROM exchanges WHERE session_id = $1", session_id
    )
    return {(r["turn"], r["role"]): Turn(role=r["role"], content=r["content"]) for r in rows}


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
    user_id: str | None = None,
    purpose: str = "auto",
    namer: str = "offline",
    words: int | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    model_calls: int = 0,
    fallback_reason: str | None = None,
) -> int:
    """Count an attempt on the state and record it; returns the attempt number (the state must
    exist)."""
    attempt = await conn.fetchval(
        "UPDATE naming_state SET attempts = attempts + 1, updated_at = now()"
        " WHERE session_id = $1 RETURNING attempts",
        session_id,
    )
    await conn.execute(
        "INSERT INTO naming_attempts (session_id, attempt, trigger_turn, outcome, name, language,"
        " detail, duration_ms, user_id, purpose, namer, words, input_tokens, output_tokens,"
        " model_calls, fallback_reason)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        session_id,
        attempt,
        trigger_turn,
        outcome,
        name,
        language,
        detail,
        duration_ms,
        user_id,
        purpose,
        namer,
        words,
        input_tokens,
        output_tokens,
        model_calls,
        fallback_reason,
    )
    return int(attempt)


async def set_analytics_opt_out(
    conn: asyncpg.Connection, session_id: uuid.UUID, user_id: str, opt_out: bool, status: str
) -> None:
    """Record the session's analytics opt-out and initial naming status (``user`` when created
    with a name of its user)."""
    await conn.execute(
        "INSERT INTO naming_state (session_id, user_id, status, analytics_opt_out)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (session_id) DO UPDATE SET"
        " analytics_opt_out = EXCLUDED.analytics_opt_out,"
        " status = CASE WHEN EXCLUDED.status = 'user' THEN 'user' ELSE naming_state.status END",
        session_id,
        user_id,
        status,
        opt_out,
    )


async def attempt_rows(
    conn: asyncpg.Connection | asyncpg.Pool, user_id: str
) -> list[dict[str, Any]]:
    """Every naming attempt of ``user_id``'s sessions (the figures analytics sum up)."""
    rows = await conn.fetch(
        "SELECT session_id, purpose, namer, outcome, language, words, duration_ms, input_tokens,"
        " output_tokens, model_calls, fallback_reason FROM naming_attempts WHERE user_id = $1",
        user_id,
    )
    return [dict(r) for r in rows]


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
