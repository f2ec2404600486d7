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
        kept, kept_args = _kept_cte(exchange, 3)
        args += kept_args
        sql = f"WITH {kept} {state_sql}"
    if not lock:
        await conn.execute(sql, *args)
        return None
    row = await conn.fetchrow(sql, *args)
    assert row is not None  # an upsert returns its row
    return NamingState(**dict(row))


def _kept_cte(exchange: tuple[int, Turn], first: int) -> tuple[str, list[Any]]:
    """The CTE ``kept`` that keeps ``exchange`` as :func:`keep` does (parameters: ``$1``, the
    session, then ``$first``.. the turn, role and content), and its parameters from ``first``."""
    turn, message = exchange
    sql = (
        "kept AS (INSERT INTO exchanges (session_id, turn, role, content)"
        f" VALUES ($1, ${first}, ${first + 1}, ${first + 2}) ON CONFLICT DO NOTHING)"
    )
    return sql, [turn, message.role, message.content[:MAX_INPUT_CHARS]]


async def keep_last(
    uow: UnitOfWork, session_id: uuid.UUID, user_id: str, exchange: tuple[int, Turn] | None
) -> None:
    """:func:`keep` without the state's lock, with the unit of work's last statement
    (:meth:`~parley_runtime.UnitOfWork.write_last`)."""
    ctes = [f"ensured AS ({_ENSURE_STATE} ON CONFLICT DO NOTHING)"]
    args: list[Any] = [session_id, user_id]
    if exchange is not None:
        kept, kept_args = _kept_cte(exchange, 3)
        ctes.append(kept)
        args += kept_args
    await uow.write_last(ctes, *args)


async def keep_unattempted(
    uow: UnitOfWork, session_id: uuid.UUID, exchange: tuple[int, Turn]
) -> None:
    """Keep ``exchange`` as :func:`keep` does, with the unit of work's last statement, guarded
    on the session's state being ``pending`` and never attempted (the row locked as the
    statement reads it, so a rename committed meanwhile is seen): else, and when the session
    has no state yet, that statement is refused whole (:class:`~parley_runtime.WriteConflict`)."""
    kept, kept_args = _kept_cte(exchange, 2)
    unattempted = (
        "unattempted AS (SELECT 1 FROM naming_state WHERE session_id = $1"
        " AND status = 'pending' AND attempts = 0 FOR UPDATE)"
    )
    await uow.write_last([unattempted, kept], session_id, *kept_args, guard="unattempted")


#: The columns of an attempt's record after ``session_id`` and ``attempt``, in the order of
#: :func:`settle_attempt`'s parameters ``$7``…
ATTEMPT_COLUMNS = (
    "trigger_turn", "outcome", "name", "language", "detail", "duration_ms", "user_id",
    "purpose", "namer", "words", "input_tokens", "output_tokens", "model_calls",
    "fallback_reason",
)  # fmt: skip


def _recorded(first: int) -> str:
    """The CTE ``recorded``: the attempt counted by the CTE ``counted`` (which returns the
    state's ``attempts``), its columns (:data:`ATTEMPT_COLUMNS`) in parameters ``$first``..."""
    columns = ", ".join(ATTEMPT_COLUMNS)
    values = ", ".join(f"${first + i}" for i in range(len(ATTEMPT_COLUMNS)))
    return (
        f"recorded AS (INSERT INTO naming_attempts (session_id, attempt, {columns})"
        f" SELECT $1, attempts, {values} FROM counted RETURNING attempt)"
    )


async def settle_attempt(
    uow: UnitOfWork,
    state: NamingState,
    exchange: tuple[int, Turn],
    attempt: dict[str, Any],
    named: tuple[str, str | None] | None,
) -> int:
    """Keep ``exchange``, count and record an attempt (``attempt``: its columns,
    :data:`ATTEMPT_COLUMNS`) and, with ``named`` (``(name, language)``), name the session, with
    the unit of work's last statement, guarded on the state being as read (``state``: still
    ``pending``, as many attempts, the same opt-out; the row locked as the statement reads it):
    else that statement is refused whole (:class:`~parley_runtime.WriteConflict`). Returns the
    attempt's number (``state.attempts + 1``)."""
    kept, kept_args = _kept_cte(exchange, 3)
    name, language = named if named is not None else (None, None)
    settled = (
        "counted AS (UPDATE naming_state SET attempts = attempts + 1, updated_at = now(),"
        " status = CASE WHEN $6 THEN 'named' ELSE status END,"
        " name = CASE WHEN $6 THEN $7 ELSE name END,"
        " language = CASE WHEN $6 THEN $8 ELSE language END"
        " WHERE session_id = $1 AND status = 'pending' AND attempts = $2"
        " AND analytics_opt_out = $9 RETURNING attempts)"
    )
    await uow.write_last(
        [kept, settled, _recorded(10)],
        state.session_id, state.attempts, *kept_args, named is not None, name, language,
        state.analytics_opt_out, *(attempt[c] for c in ATTEMPT_COLUMNS),
        guard="counted",
    )  # fmt: skip
    return state.attempts + 1


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
    row = {
        "trigger_turn": trigger_turn, "outcome": outcome, "name": name, "language": language,
        "detail": detail, "duration_ms": duration_ms, "user_id": user_id, "purpose": purpose,
        "namer": namer, "words": words, "input_tokens": input_tokens,
        "output_tokens": output_tokens, "model_calls": model_calls,
        "fallback_reason": fallback_reason,
    }  # fmt: skip
    attempt = await conn.fetchval(
        "WITH counted AS (UPDATE naming_state SET attempts = attempts + 1, updated_at = now()"
        f" WHERE session_id = $1 RETURNING attempts), {_recorded(2)} SELECT attempt FROM recorded",
        session_id,
        *(row[c] for c in ATTEMPT_COLUMNS),
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
