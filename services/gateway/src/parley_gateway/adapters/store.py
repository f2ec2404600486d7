"""Sessions and messages in the gateway's schema (asyncpg).

Every function takes the connection of an open unit of work, so a state change and the events
written to the outbox commit together. Rows are returned as plain dicts in the API's shapes.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import asyncpg

from ..domain.idempotency import EarlierUse

SESSION_COLUMNS = (
    "id, user_id, name, name_source, persona, model, metadata, is_archived, analytics_opt_out,"
    " message_count, user_turns, next_seq, session_tag, tags, created_at, updated_at,"
    " last_message_at, activity_at"
)
MESSAGE_COLUMNS = "id, session_id, seq, role, content, status, reply_to, error, created_at"


def _session(row: asyncpg.Record | None) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(row)
    out["metadata"] = json.loads(out["metadata"])
    out["tags"] = json.loads(out["tags"])
    return out


async def insert_session(
    conn: asyncpg.Connection,
    *,
    session_id: uuid.UUID,
    user_id: str,
    name: str,
    name_source: str,
    persona: str | None,
    model: str,
    metadata: dict[str, Any],
    analytics_opt_out: bool,
) -> dict[str, Any]:
    """Insert a new session and return it."""
    row = await conn.fetchrow(
        f"INSERT INTO sessions (id, user_id, name, name_source, persona, model, metadata,"
        f" analytics_opt_out) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)"
        f" RETURNING {SESSION_COLUMNS}",
        session_id,
        user_id,
        name,
        name_source,
        persona,
        model,
        json.dumps(metadata),
        analytics_opt_out,
    )
    result = _session(row)
    assert result is not None
    return result


async def get_session(
    conn: asyncpg.Connection | asyncpg.Pool,
    session_id: uuid.UUID,
    user_id: str | None = None,
    *,
    for_update: bool = False,
) -> dict[str, Any] | None:
    """The session ``session_id`` (of ``user_id`` when given), or None."""
    sql = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
    args: list[Any] = [session_id]
    if user_id is not None:
        sql += " AND user_id = $2"
        args.append(user_id)
    if for_update:
        sql += " FOR UPDATE"
    return _session(await conn.fetchrow(sql, *args))


async def list_sessions(
    conn: asyncpg.Connection | asyncpg.Pool,
    user_id: str,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    include_archived: bool,
    query: str | None,
) -> list[dict[str, Any]]:
    """The user's sessions, newest activity first, after the keyset cursor ``after``.

    ``query`` matches the name, case-insensitively. Returns at most ``limit`` rows.
    """
    clauses = ["user_id = $1"]
    args: list[Any] = [user_id]
    if not include_archived:
        clauses.append("NOT is_archived")
    if query:
        args.append(f"%{_escape_like(query)}%")
        clauses.append(f"name ILIKE ${len(args)}")
    if after is not None:
        args.extend(after)
        clauses.append(f"(activity_at, id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit)
    rows = await conn.fetch(
        f"SELECT {SESSION_COLUMNS} FROM sessions WHERE {' AND '.join(clauses)}"
        f" ORDER BY activity_at DESC, id DESC LIMIT ${len(args)}",
        *args,
    )
    return [s for s in map(_session, rows) if s is not None]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def update_session(
    conn: asyncpg.Connection, session_id: uuid.UUID, changes: dict[str, Any]
) -> dict[str, Any]:
    """Apply ``changes`` (column → value; ``metadata`` as a dict) and return the session."""
    sets, args = [], []
    for column, value in changes.items():
        args.append(json.dumps(value) if column == "metadata" else value)
        cast = "::jsonb" if column == "metadata" else ""
        sets.append(f"{column} = ${len(args)}{cast}")
    args.append(session_id)
    row = await conn.fetchrow(
        f"UPDATE sessions SET {', '.join(sets)}, updated_at = now() WHERE id = ${len(args)}"
        f" RETURNING {SESSION_COLUMNS}",
        *args,
    )
    result = _session(row)
    assert result is not None
    return result


async def delete_session(conn: asyncpg.Connection, session_id: uuid.UUID) -> None:
    """Delete a session and (by cascade) its messages."""
    await conn.execute("DELETE FROM sessions WHERE id = $1", session_id)


async def append_message(
    conn: asyncpg.Connection,
    session: dict[str, Any],
    *,
    message_id: uuid.UUID,
    role: str,
    content: str,
    status: str,
    reply_to: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Append a message to a session locked ``FOR UPDATE`` and keep its counters exact.

    The message takes the session's next ``seq``; ``message_count``, ``last_message_at``
    (= the message's ``created_at``) and, for a user message, ``user_turns`` move with it.
    """
    row = await conn.fetchrow(
        f"INSERT INTO messages (id, session_id, seq, role, content, status, reply_to)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {MESSAGE_COLUMNS}",
        message_id,
        session["id"],
        session["next_seq"],
        role,
        content,
        status,
        reply_to,
    )
    assert row is not None
    await conn.execute(
        "UPDATE sessions SET next_seq = next_seq + 1, message_count = message_count + 1,"
        " user_turns = user_turns + $2, last_message_at = $3, updated_at = now() WHERE id = $1",
        session["id"],
        1 if role == "user" else 0,
        row["created_at"],
    )
    return dict(row)


async def set_message_status(
    conn: asyncpg.Connection, message_id: uuid.UUID, status: str, error: str | None = None
) -> None:
    """Set a user message's status: ``answered``, or ``failed`` (with the error) unless it was
    answered meanwhile."""
    await conn.execute(
        "UPDATE messages SET status = $2, error = $3 WHERE id = $1"
        " AND (status = 'pending' OR $2 = 'answered')",
        message_id,
        status,
        error,
    )


async def get_message(
    conn: asyncpg.Connection | asyncpg.Pool, message_id: uuid.UUID
) -> dict[str, Any] | None:
    """One message by id, or None."""
    row = await conn.fetchrow(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1", message_id)
    return dict(row) if row else None


async def get_reply(
    conn: asyncpg.Connection | asyncpg.Pool, user_message_id: uuid.UUID
) -> dict[str, Any] | None:
    """The assistant message answering ``user_message_id``, or None."""
    row = await conn.fetchrow(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE reply_to = $1 AND role = 'assistant'",
        user_message_id,
    )
    return dict(row) if row else None


async def list_messages(
    conn: asyncpg.Connection | asyncpg.Pool,
    session_id: uuid.UUID,
    *,
    after_seq: int = 0,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Messages of a session in ``seq`` order, after ``after_seq``, at most ``limit``."""
    rows = await conn.fetch(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = $1 AND seq > $2"
        f" ORDER BY seq LIMIT $3",
        session_id,
        after_seq,
        limit,
    )
    return [dict(r) for r in rows]


async def claim_idempotency_key(
    conn: asyncpg.Connection,
    user_id: str,
    key: str,
    resource: str,
    resource_id: uuid.UUID,
    fingerprint: str,
    ttl_s: float,
) -> EarlierUse | None:
    """Claim ``key`` for a new resource and its request ``fingerprint``; returns the earlier use
    if the key was used within ``ttl_s`` seconds (an older use is forgotten). One statement, so
    a concurrent prune cannot remove the row between the claim and its read."""
    expired = "idempotency_keys.created_at < now() - make_interval(secs => $6)"
    row = await conn.fetchrow(
        "INSERT INTO idempotency_keys (user_id, key, resource, resource_id, fingerprint)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, key) DO UPDATE SET"
        f"  resource = CASE WHEN {expired} THEN EXCLUDED.resource"
        "    ELSE idempotency_keys.resource END,"
        f"  resource_id = CASE WHEN {expired} THEN EXCLUDED.resource_id"
        "    ELSE idempotency_keys.resource_id END,"
        f"  fingerprint = CASE WHEN {expired} THEN EXCLUDED.fingerprint"
        "    ELSE idempotency_keys.fingerprint END,"
        f"  created_at = CASE WHEN {expired} THEN now() ELSE idempotency_keys.created_at END"
        " RETURNING resource, resource_id, fingerprint",
        user_id,
        key,
        resource,
        resource_id,
        fingerprint,
        ttl_s,
    )
    assert row is not None
    if row["resource_id"] == resource_id:
        return None
    return EarlierUse(row["resource"], row["resource_id"], row["fingerprint"])


async def prune_idempotency_keys(conn: asyncpg.Connection | asyncpg.Pool, ttl_s: float) -> int:
    """Forget idempotency keys older than ``ttl_s`` seconds; returns how many."""
    status = await conn.execute(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)", ttl_s
    )
    return int(status.split()[-1])


async def fail_stale_messages(
    conn: asyncpg.Connection, deadline_s: float
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Mark user messages still ``pending`` after ``deadline_s`` seconds as failed; returns
    their ``(message id, session id)`` (a reply that comes later still marks its message
    answered)."""
    rows = await conn.fetch(
        "UPDATE messages SET status = 'failed', error = $2 WHERE role = 'user'"
        " AND status = 'pending' AND created_at < now() - make_interval(secs => $1)"
        " RETURNING id, session_id",
        deadline_s,
        f"no reply within {deadline_s:.0f} s",
    )
    return [(r["id"], r["session_id"]) for r in rows]
