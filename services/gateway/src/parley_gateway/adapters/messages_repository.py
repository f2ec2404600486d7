"""The gateway's message repository on PostgreSQL (asyncpg): it loads and saves messages on the
connection of an open transaction, and nothing more."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from ..domain.messages import Message

#: The columns a message is read and written with, in this order.
MESSAGE_COLUMNS = "id, session_id, seq, role, content, status, reply_to, error, created_at"


def message_from_row(row: asyncpg.Record, columns: Sequence[str] | None = None) -> Message:
    """A message from ``row`` (all its columns, or ``columns``, the names of
    :data:`MESSAGE_COLUMNS` in its order, maybe aliased)."""
    if columns is None:
        return Message(**dict(row))
    return Message(
        **{name: row[c] for name, c in zip(MESSAGE_COLUMNS.split(", "), columns, strict=True)}
    )


class PostgresMessages:
    """The ``messages`` table."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def get(self, message_id: uuid.UUID) -> Message | None:
        """The message ``message_id``, or None."""
        row = await self.conn.fetchrow(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1", message_id
        )
        return message_from_row(row) if row is not None else None

    async def with_reply(self, message_id: uuid.UUID) -> tuple[Message | None, Message | None]:
        """``(message, its reply)`` in one statement (one snapshot); None for what is missing."""
        rows = await self.conn.fetch(
            f"SELECT {MESSAGE_COLUMNS} FROM messages"
            " WHERE id = $1 OR (reply_to = $1 AND role = 'assistant')",
            message_id,
        )
        found = [message_from_row(row) for row in rows]
        message = next((m for m in found if m.id == message_id), None)
        reply = next((m for m in found if m.id != message_id), None)
        return message, reply

    async def save(self, message: Message) -> None:
        """Store the message's status and failure reason as they are now."""
        await self.conn.execute(
            "UPDATE messages SET status = $2, error = $3 WHERE id = $1",
            message.id,
            message.status,
            message.error,
        )

    async def page(
        self, session_id: uuid.UUID, *, after_seq: int = 0, limit: int | None = None
    ) -> list[Message]:
        """One page of a session's messages in order, after ``after_seq``."""
        rows = await self.conn.fetch(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = $1 AND seq > $2"
            " ORDER BY seq LIMIT $3",
            session_id,
            after_seq,
            limit,
        )
        return [message_from_row(row) for row in rows]

    async def pending_older_than(self, age_s: float, limit: int) -> list[Message]:
        """User messages still pending after ``age_s`` seconds, oldest first, at most ``limit``."""
        rows = await self.conn.fetch(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE role = 'user' AND status = 'pending'"
            " AND created_at < now() - make_interval(secs => $1)"
            " ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            age_s,
            limit,
        )
        return [message_from_row(row) for row in rows]
