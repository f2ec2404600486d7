"""Naming state, exchanges and attempts in the namer schema (asyncpg): this module satisfies
:class:`~parley_namer.domain.ports.NamingStore` as it is."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from parley_runtime import UnitOfWork

from ..domain.names import MAX_INPUT_CHARS, Turn
from ..domain.ports import NamingInput, NamingState

STATE_COLUMNS = "session_id, user_id, status, name, language, attempts, analytics_opt_out"

_KEEP_EXCHANGE = (
    "INSERT INTO exchanges (session_id, turn, role, content) VALUES ($1, $3, $4, $5)"
    " ON CONFLICT DO NOTHING"
)
_ENSURE_STATE = "INSERT INTO naming_state (session_id, user_id, status) VALUES ($1, $2, 'pending')"
# An upsert that changes nothing locks the row (created or not) and returns it, in one statement,
# even when another transaction creates it at the same moment.
_LOCK_STATE = (
    " ON CONFLICT (session_id) DO UPDATE SET user_id = naming_state.user_id"
    f" RETURNING {STATE_COLUMNS}"
)


async def keep(
    conn: asyncpg.Connection,
    session_id: uuid.UUID,
    user_id: str,
    exchange: tuple[int, Turn] | None = None,
    *,
    lock: bool = False,
) -> NamingState | None:
    """Create the session's naming state if missing and keep ``exchange`` (``(turn, message)``,
    cut to 500 characters; a message kept already stays), in one statement; with ``lock``,
    the state locked for the transaction (None without)."""
    args: list[Any] = [session_id, user_id]
    state_sql = _ENSURE_STATE + (_LOCK_STATE if lock else " ON CONFLICT DO NOTHING")
    if exchange is None:
        sql = state_sql
    else:
        turn, message = exchange
        args += [turn, message.role, message.content[:MAX_INPUT_CHARS]]
        sql = f"WITH kept AS ({_KEEP_EXCHANGE}) {state_sql}"
    if not lock:
        await conn.execute(sql, *args)
        return None
    row = await conn.fetchrow(sql, *args)
    assert row is not None  # an upsert returns its row
    return NamingState(**dict(row))


async def naming_input(
    conn: asyncpg.Connection | asyncpg.Pool,
    session_id: uuid.UUID,
    *,
    consumer: str,
    event_id: uuid.UUID,
) -> NamingInput:
    """Whether the session was deleted, whether ``consumer`` handled ``event_id`` already (the
    chassis' inbox), the naming state and the kept messages, in one statement."""
    rows = await conn.fetch(
        "SELECT EXISTS (SELECT 1 FROM deleted_sessions WHERE session_id = $1) AS gone,"
        " EXISTS (SELECT 1 FROM inbox WHERE consumer = $2 AND event_id = $3) AS handled,"
        f" {', '.join(f's.{c}' for c in STATE_COLUMNS.split(', '))}, e.turn, e.role, e.content"
        " FROM (SELECT 1) AS one LEFT JOIN naming_state s ON s.session_id = $1"
        " LEFT JOIN exchanges e ON e.session_id = $1",
        session_id,
        consumer,
        event_id,
    )
    first = rows[0]
    state = None
    if first["session_id"] is not None:
        state = NamingState(**{c: first[c] for c in STATE_COLUMNS.split(", ")})
    kept = {
        (r["turn"], r["role"]): Turn(role=r["role"], content=r["content"])
        for r in rows
        if r["turn"] is not None
    }
    return NamingInput(gone=first["gone"], handled=first["handled"], state=state, kept=kept)


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
    """Count an attempt on the state and record it, in one statement; returns the attempt
    number.

    Raises:
        LookupError: the session has no naming state (nothing is written).
    """
    attempt = await conn.fetchval(
        "WITH counted AS (UPDATE naming_state SET attempts = attempts + 1, updated_at = now()"
        " WHERE session_id = $1 RETURNING attempts)"
        " INSERT INTO naming_attempts (session_id, attempt, trigger_turn, outcome, name, language,"
        " detail, duration_ms, user_id, purpose, namer, words, input_tokens, output_tokens,"
        " model_calls, fallback_reason)"
        " SELECT $1, attempts, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15"
        " FROM counted RETURNING attempt",
        session_id,
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
    if attempt is None:
        raise LookupError(f"session {session_id} has no naming state")
    return int(attempt)


async def set_analytics_opt_out(
    uow: UnitOfWork, session_id: uuid.UUID, user_id: str, opt_out: bool, status: str
) -> None:
    """Record the session's analytics opt-out and initial naming status (``user`` when created
    with a name of its user), with the unit of work's last statement
    (:meth:`~parley_runtime.UnitOfWork.write_last`)."""
    await uow.write_last(
        (
            "opted AS (INSERT INTO naming_state (session_id, user_id, status, analytics_opt_out)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (session_id) DO UPDATE SET"
            " analytics_opt_out = EXCLUDED.analytics_opt_out, status = CASE"
            " WHEN EXCLUDED.status = 'user' THEN 'user' ELSE naming_state.status END)",
        ),
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
    uow: UnitOfWork, session_id: uuid.UUID, name: str, language: str | None
) -> None:
    """Mark the session named automatically, with the unit of work's last statement
    (:meth:`~parley_runtime.UnitOfWork.write_last`)."""
    await uow.write_last(
        [
            "named AS (UPDATE naming_state SET status = 'named', name = $2, language = $3,"
            " updated_at = now() WHERE session_id = $1)"
        ],
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
