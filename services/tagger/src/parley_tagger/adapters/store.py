"""Models, counters, session tags and traces in the tagger schema (asyncpg)."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from parley_runtime import UnitOfWork


async def next_counter(
    conn: asyncpg.Connection,
    session_id: uuid.UUID,
    user_id: str,
    model: str,
    provider: str | None = None,
) -> tuple[uuid.UUID, int] | None:
    """``(model id, the user's next counter for that model)`` for session ``session_id``, or
    None when the session is tagged already (nothing is taken), in one statement: ``model`` is
    registered on first sight (its row is not written again once known) and the counter taken
    with an upsert; gap-free within its transaction (concurrent sessions of the same user and
    model queue on the counter's row lock)."""
    row = await conn.fetchrow(
        "WITH tagged AS (SELECT 1 FROM session_tags WHERE session_id = $4),"
        " known AS (SELECT id FROM llm_models WHERE name = $2),"
        " added AS (INSERT INTO llm_models (name, provider) SELECT $2, $3"
        " WHERE NOT EXISTS (SELECT 1 FROM known) AND NOT EXISTS (SELECT 1 FROM tagged)"
        " ON CONFLICT (name) DO UPDATE SET provider = coalesce(llm_models.provider,"
        " EXCLUDED.provider) RETURNING id),"
        " counted AS (INSERT INTO tag_counters (user_id, model_id, last_counter)"
        " SELECT $1::text, id, 1 FROM (SELECT id FROM known UNION ALL SELECT id FROM added) m"
        " WHERE NOT EXISTS (SELECT 1 FROM tagged) ON CONFLICT (user_id, model_id)"
        " DO UPDATE SET last_counter = tag_counters.last_counter + 1"
        " RETURNING model_id, last_counter)"
        " SELECT model_id, last_counter FROM counted",
        user_id,
        model,
        provider,
        session_id,
    )
    return (row["model_id"], int(row["last_counter"])) if row is not None else None


@dataclass(frozen=True)
class TaggingInput:
    """What tagging a session starts from, read at once: whether it has a tag (``tagged``), the
    id of its model (None when the model was never seen) and the user's last counter for that
    model (None before the user's first session of it)."""

    tagged: bool
    model_id: uuid.UUID | None
    last_counter: int | None

    @property
    def next_counter(self) -> int:
        """The counter the session takes when nothing else takes one first."""
        return (self.last_counter or 0) + 1


async def tagging_input(
    conn: asyncpg.Connection | asyncpg.Pool, session_id: uuid.UUID, user_id: str, model: str
) -> TaggingInput:
    """Whether the session is tagged, ``model``'s id and ``user_id``'s last counter for it, in
    one statement without locks (see :func:`tag_as_read`)."""
    row = await conn.fetchrow(
        "SELECT EXISTS (SELECT 1 FROM session_tags WHERE session_id = $1) AS tagged,"
        " m.id AS model_id, c.last_counter FROM (SELECT 1) AS one"
        " LEFT JOIN llm_models m ON m.name = $3"
        " LEFT JOIN tag_counters c ON c.user_id = $2 AND c.model_id = m.id",
        session_id,
        user_id,
        model,
    )
    assert row is not None  # one row, whatever the joins find
    return TaggingInput(row["tagged"], row["model_id"], row["last_counter"])


async def tag_as_read(
    uow: UnitOfWork,
    read: TaggingInput,
    *,
    session_id: uuid.UUID,
    user_id: str,
    tag: str,
    analytics_opt_out: bool,
) -> int:
    """Take the user's next counter for the model of ``read`` (which must have one) and record
    the session's ``tag`` (made from that counter), with the unit of work's last statement,
    guarded on the counter being still as read and the session untagged: else that statement
    is refused whole (:class:`~parley_runtime.WriteConflict`). Returns the counter taken."""
    counter = read.next_counter
    if read.last_counter is None:  # the user's first session of the model
        counted = (
            "counted AS (INSERT INTO tag_counters (user_id, model_id, last_counter)"
            " VALUES ($2, $3, $4) ON CONFLICT DO NOTHING RETURNING last_counter)"
        )
    else:
        counted = (
            "counted AS (UPDATE tag_counters SET last_counter = $4 WHERE user_id = $2"
            " AND model_id = $3 AND last_counter = $4 - 1 RETURNING last_counter)"
        )
    tagged = (
        "tagged AS (INSERT INTO session_tags (session_id, user_id, model_id, counter,"
        " session_tag, analytics_opt_out) SELECT $1, $2, $3, last_counter, $5, $6 FROM counted"
        " ON CONFLICT DO NOTHING RETURNING 1)"
    )
    await uow.write_last(
        [counted, tagged], session_id, user_id, read.model_id, counter, tag, analytics_opt_out,
        guard="tagged",
    )  # fmt: skip
    return counter


async def insert_session_tag(
    conn: asyncpg.Connection,
    *,
    session_id: uuid.UUID,
    user_id: str,
    model_id: uuid.UUID,
    counter: int,
    tag: str,
    analytics_opt_out: bool,
) -> None:
    """Record a session's tag."""
    await conn.execute(
        "INSERT INTO session_tags (session_id, user_id, model_id, counter, session_tag,"
        " analytics_opt_out) VALUES ($1, $2, $3, $4, $5, $6)",
        session_id,
        user_id,
        model_id,
        counter,
        tag,
        analytics_opt_out,
    )


#: The columns of a trace that come from its reply, with their types; the others
#: (``session_tag``, ``model_id``) come from the session's tag.
TRACE_TYPES = {
    "id": "uuid",
    "session_id": "uuid",
    "user_id": "text",
    "model": "text",
    "provider": "text",
    "turn": "integer",
    "input": "text",
    "output": "text",
    "upstream_session_id": "text",
    "latency_ms": "integer",
    "input_tokens": "integer",
    "output_tokens": "integer",
    "upstream_response_id": "text",
    "finish_reason": "text",
    "retries": "integer",
    "upstream_done_at": "timestamptz",
    "correlation_id": "uuid",
    "created_at": "timestamptz",
}


@functools.cache
def _record_trace_ctes(columns: tuple[str, ...]) -> tuple[str, str]:
    """The CTEs of :func:`record_trace` for the reply's ``columns``, in that order: ``tag``,
    the session's tag (no row when it has none), and ``recorded``, the trace's insert."""
    values = ", ".join(f"${i}::{TRACE_TYPES[c]}" for i, c in enumerate(columns, 1))
    session = columns.index("session_id") + 1
    return (
        "tag AS (SELECT session_tag, model_id, analytics_opt_out FROM session_tags"
        f" WHERE session_id = ${session}::uuid)",
        f"recorded AS (INSERT INTO llm_traces ({', '.join(columns)}, session_tag, model_id)"
        f" SELECT {values}, tag.session_tag, tag.model_id FROM tag"
        " WHERE NOT tag.analytics_opt_out ON CONFLICT (id) DO NOTHING RETURNING 1)",
    )


async def record_trace(uow: UnitOfWork, **trace: Any) -> None:
    """Record one reply as an LLM trace carrying its session's tag, unless the session opted
    out of analytics (a trace recorded before, same ``id``, stays as it was), with the unit of
    work's last statement (:meth:`~parley_runtime.UnitOfWork.write_last`), guarded on the
    session's tag: when the session has none yet, that statement is refused whole.
    ``trace`` holds the reply's columns (keys of :data:`TRACE_TYPES`, ``session_id`` among
    them).

    Raises:
        KeyError: a key of ``trace`` is not a reply's column.
        ValueError: ``trace`` has no ``session_id``.
        WriteConflict: the session has no tag (raised where the write is sent: at once in a
            batch, else at the unit of work's end); nothing is written.
    """
    await uow.write_last(_record_trace_ctes(tuple(trace)), *trace.values(), guard="tag")


async def erase_session(conn: asyncpg.Connection, session_id: uuid.UUID) -> None:
    """Erase a session's traces and tag (its counter stays: tags are never reused)."""
    await conn.execute("DELETE FROM llm_traces WHERE session_id = $1", session_id)
    await conn.execute("DELETE FROM session_tags WHERE session_id = $1", session_id)


async def find_traces(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    user_id: str,
    session_tag: str | None,
    session_id: uuid.UUID | None,
    after: tuple[Any, uuid.UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The user's traces, newest first, filtered by tag and/or session, after the keyset
    ``(created_at, id)`` of an earlier page. Every filter has an index that starts with it."""
    clauses, args = ["user_id = $1"], [user_id]
    for column, value in (("session_tag", session_tag), ("session_id", session_id)):
        if value is not None:
            args.append(value)
            clauses.append(f"{column} = ${len(args)}")
    if after is not None:
        args.extend(after)
        clauses.append(f"(created_at, id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit)
    rows = await conn.fetch(
        "SELECT id, session_id, session_tag, model, provider, turn, input, output, latency_ms,"
        " input_tokens, output_tokens, upstream_session_id, upstream_response_id, finish_reason,"
        " retries, created_at FROM llm_traces"
        f" WHERE {' AND '.join(clauses)} ORDER BY created_at DESC, id DESC LIMIT ${len(args)}",
        *args,
    )
    return [dict(r) for r in rows]
