"""The gateway's session repository on PostgreSQL (asyncpg): it loads and saves sessions (with
the messages they appended or changed) on the connection of an open transaction, and nothing
more. Messages alone: :mod:`.messages_repository`."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from parley_runtime import UnitOfWork as Transaction
from parley_runtime.refusals import write_alone
from parley_runtime.statements import LastWrite

from ..domain.messages import Message
from ..domain.ports import Keyset
from ..domain.sessions import Session
from .messages_repository import MESSAGE_COLUMNS, message_from_row
from .saved_sessions import SavedSessions, copy_of

#: The columns a session is written with, but ``expires_at`` (derived) and ``version``.
WRITTEN_COLUMNS = (
    "id, user_id, name, name_source, persona, model, metadata, is_archived, analytics_opt_out,"
    " message_count, user_turns, next_seq, session_tag, tags, created_at, updated_at,"
    " last_message_at, idle_ttl_s"
)
#: The columns a session is read with.
SESSION_COLUMNS = f"{WRITTEN_COLUMNS}, version"
#: Stores a loaded session's fields over the version it was read at (``$20``), with the next
#: version; ``$1``..``$19`` are ``PostgresSessions._values``. Returns a row only when stored.
_SAVE_SESSION = (
    "UPDATE sessions SET user_id = $2, name = $3, name_source = $4, persona = $5,"
    " model = $6, metadata = $7::jsonb, is_archived = $8, analytics_opt_out = $9,"
    " message_count = $10, user_turns = $11, next_seq = $12, session_tag = $13,"
    " tags = $14::jsonb, created_at = $15, updated_at = $16, last_message_at = $17,"
    " idle_ttl_s = $18, expires_at = $19, version = version + 1"
    " WHERE id = $1 AND version = $20 RETURNING 1"
)
#: :data:`_SAVE_SESSION` guarded also on user message ``$30`` having no reply stored: the save
#: of a reply to a message taken from this replica's saved copies, not read.
_SAVE_SESSION_UNANSWERED = _SAVE_SESSION.replace(
    " RETURNING 1",
    " AND NOT EXISTS (SELECT 1 FROM messages WHERE reply_to = $30 AND role = 'assistant')"
    " RETURNING 1",
)
#: Messages inserted or, for those that exist, their status and error stored (an upsert on
#: ``id``), as a CTE beside :data:`_SAVE_SESSION`'s; ``$21``..``$29`` are the nine arrays of
#: :func:`_message_columns`.
_UPSERT_MESSAGES = (
    f"kept AS (INSERT INTO messages ({MESSAGE_COLUMNS}) SELECT * FROM unnest($21::uuid[],"
    " $22::uuid[], $23::int[], $24::text[], $25::text[], $26::text[], $27::uuid[], $28::text[],"
    " $29::timestamptz[]) ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status,"
    " error = EXCLUDED.error)"
)
#: Inserts a new session; ``$1``..``$19`` are ``PostgresSessions._values``.
_ADD_SESSION = (
    f"INSERT INTO sessions ({WRITTEN_COLUMNS}, expires_at) VALUES ($1, $2, $3, $4, $5, $6,"
    " $7::jsonb, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, $16, $17, $18, $19)"
)


def _message_columns(messages: Sequence[Message]) -> list[list[Any]]:
    """``messages`` as one array per column of :data:`MESSAGE_COLUMNS`, in its order."""
    return [[getattr(m, column) for m in messages] for column in MESSAGE_COLUMNS.split(", ")]


#: A session's columns (``s.``) and, aliased ``m_<column>``, those of its message ``$2`` and
#: of that message's reply, one row per message (a LEFT JOIN: one row of NULLs when neither
#: exists); ``FOR UPDATE OF s`` locks the session's row for the transaction.
_MESSAGE_ALIASES = [f"m_{column}" for column in MESSAGE_COLUMNS.split(", ")]
_SESSION_WITH_REPLY = (
    "SELECT "
    + ", ".join(f"s.{c}" for c in SESSION_COLUMNS.split(", "))
    + ", "
    + ", ".join(f"m.{c} AS m_{c}" for c in MESSAGE_COLUMNS.split(", "))
    + " FROM sessions s LEFT JOIN messages m ON m.session_id = s.id"
    " AND (m.id = $2 OR (m.reply_to = $2 AND m.role = 'assistant'))"
    " WHERE s.id = $1"
)


def _session(row: asyncpg.Record, columns: Sequence[str] | None = None) -> Session:
    """A session from ``row`` (all its columns, or only ``columns``, in the order of
    :data:`SESSION_COLUMNS`)."""
    fields = dict(row) if columns is None else {c: row[c] for c in columns}
    fields["metadata"] = json.loads(fields["metadata"])
    fields["tags"] = json.loads(fields["tags"])
    return Session(**fields)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PostgresSessions:
    """The ``sessions`` table, read on ``conn``. With ``unit``, the unit of work open on it, a
    session added or saved is written with the unit's last statement
    (:meth:`~parley_runtime.UnitOfWork.write_last`: nothing reads it back before the end);
    without, at once. In an optimistic unit of work a read takes no lock (there is no
    transaction to hold it): the save's version guard refuses what changed meanwhile.

    With ``saved`` (this replica's :class:`~.saved_sessions.SavedSessions`), each session
    committed is kept there, and :meth:`get` in an optimistic unit of work (or, with
    ``from_saved``, in one that would lock: a batch's, whose saves are guarded all the same)
    takes it from there instead of reading its row; a unit that locks forgets it (its save
    keeps it again). A user message posted is kept there too, until its reply:
    :meth:`get_with_reply` then takes it from there, not read, and the save of the reply is
    guarded on no reply being stored yet."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        unit: Transaction | None = None,
        saved: SavedSessions | None = None,
        *,
        from_saved: bool = False,
    ) -> None:
        self.conn = conn
        self.unit = unit
        self.saved = saved
        self._locks = unit is None or not unit.optimistic
        self._from_saved = saved is not None and (from_saved or not self._locks)
        self._unread_replies: set[uuid.UUID] = set()  # asked messages taken from saved copies

    def _when_committed(self, keep: Callable[[], None]) -> None:
        """Call ``keep`` (which keeps what was just written in :attr:`saved`) once that is
        committed: at once without a unit of work, else after the unit's commit."""
        if self.unit is None:
            keep()
        else:
            self.unit.after_commit(keep)

    async def _write(self, ctes: Sequence[str], *args: Any, guard: str | None = None) -> None:
        if self.unit is not None:
            await self.unit.write_last(ctes, *args, guard=guard)
            return
        await write_alone(self.conn, LastWrite(tuple(ctes), args, guard))

    async def get(
        self, session_id: uuid.UUID, user_id: str | None = None, *, for_update: bool = False
    ) -> Session | None:
        """The session ``session_id`` of ``user_id`` (locked for this transaction with
        ``for_update``), or None; in an optimistic unit of work, the copy this replica kept
        when it last committed it, if any (see the class)."""
        if self._from_saved and self.saved is not None:
            taken = self.saved.take(session_id)
            if taken is not None:
                kept, kept_at = taken
                # Put back as it was unless this unit of work commits a newer version.
                restore = functools.partial(self.saved.restore, copy_of(kept), kept_at)
                assert self.unit is not None  # a unit of work keeps what it takes
                self.unit.after_commit(restore)
                return kept if user_id is None or kept.user_id == user_id else None
        elif self.saved is not None and self._locks:
            self.saved.forget(session_id)  # saved under the lock: its save keeps it again
        sql = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
        args: list[Any] = [session_id]
        if user_id is not None:
            sql += " AND user_id = $2"
            args.append(user_id)
        if for_update and self._locks:
            sql += " FOR UPDATE"
        row = await self.conn.fetchrow(sql, *args)
        return _session(row) if row is not None else None

    async def get_with_reply(
        self, session_id: uuid.UUID, message_id: uuid.UUID
    ) -> tuple[Session | None, Message | None, Message | None]:
        """The session, locked for this transaction (see the class), with its message
        ``message_id`` and that message's reply, in one statement (one row per message found);
        ``(None, None, None)`` when the session does not exist. A message this replica posted
        and kept (see the class) is taken from there with no reply, the session from its copy
        or its row, and the reply's save checks that none is stored. After a wait for the lock,
        PostgreSQL reads the session again, the messages not: a change of a message that
        saves its session (storing a reply) is seen; failing a message, which does not, may be
        read as it stood before."""
        if self._from_saved and self.saved is not None:
            asked = self.saved.take_asked(message_id)
            if asked is not None and asked.session_id == session_id:
                session = await self.get(session_id, for_update=True)  # locked if the unit locks
                if session is None:
                    return None, None, None
                self._unread_replies.add(message_id)  # its save checks that none is stored
                return session, asked, None
        lock = " FOR UPDATE OF s" if self._locks else ""
        if self.saved is not None and self._locks:
            self.saved.forget(session_id)  # saved under the lock: its save keeps it again
        rows = await self.conn.fetch(_SESSION_WITH_REPLY + lock, session_id, message_id)
        if not rows:
            return None, None, None
        session = _session(rows[0], SESSION_COLUMNS.split(", "))
        found = [message_from_row(row, _MESSAGE_ALIASES) for row in rows if row["m_id"] is not None]
        message = next((m for m in found if m.id == message_id), None)
        reply = next((m for m in found if m.id != message_id), None)
        return session, message, reply

    async def add(self, session: Session) -> None:
        """Insert a new session (see the class for when)."""
        await self._write([f"added AS ({_ADD_SESSION})"], *self._values(session))
        if self.saved is not None:
            self._when_committed(functools.partial(self.saved.keep, copy_of(session)))

    async def save(self, session: Session, messages: Sequence[Message] = ()) -> None:
        """Store the session's fields as they are now and, in the same statement, ``messages``
        (inserted when new, else their status and failure reason stored: an upsert on ``id``),
        over the version the session was read at, which then counts one up; see the class for
        when.

        Raises:
            WriteConflict: the stored session is not at that version any more (or is gone),
                or a reply to a message taken from the saved copies is stored already, when
                the write is sent (at once, or at the unit of work's end): nothing of it is
                written (read the session again before another try).
        """
        replied = (m.reply_to for m in messages if m.role == "assistant")
        unread = next((r for r in replied if r in self._unread_replies), None)
        ctes = [f"saved AS ({_SAVE_SESSION if unread is None else _SAVE_SESSION_UNANSWERED})"]
        args = [*self._values(session), session.version]
        if messages:
            ctes.append(_UPSERT_MESSAGES)
            args += _message_columns(messages)
        if unread is not None:
            args.append(unread)
        await self._write(ctes, *args, guard="saved")
        session.version += 1
        if self.saved is None:
            return
        self._when_committed(functools.partial(self.saved.keep, copy_of(session)))
        for message in messages:
            if message.role == "user" and message.status == "pending":  # posted: kept
                self._when_committed(functools.partial(self.saved.keep_asked, message))

    @staticmethod
    def _values(s: Session) -> tuple[Any, ...]:
        """``$1``..``$19`` of :data:`_SAVE_SESSION` and :data:`_ADD_SESSION`."""
        return (
            s.id, s.user_id, s.name, s.name_source, s.persona, s.model, json.dumps(s.metadata),
            s.is_archived, s.analytics_opt_out, s.message_count, s.user_turns, s.next_seq,
            s.session_tag, json.dumps(s.tags), s.created_at, s.updated_at, s.last_message_at,
            s.idle_ttl_s, s.expires_at,
        )  # fmt: skip

    async def delete(self, session_id: uuid.UUID) -> None:
        """Delete the session and, by cascade, its messages."""
        await self.conn.execute("DELETE FROM sessions WHERE id = $1", session_id)
        if self.saved is not None:
            self.saved.forget(session_id)

    async def idle_past(self, now: datetime, limit: int) -> list[Session]:
        """By the ``sessions_by_expiry`` index; rows another transaction holds are skipped
        (a message being posted under its session's lock keeps the session: a post to a
        session about to expire takes that lock)."""
        rows = await self.conn.fetch(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE expires_at <= $1"
            " ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            now,
            limit,
        )
        return [_session(row) for row in rows]

    async def page(
        self,
        user_id: str,
        *,
        limit: int,
        after: Keyset | None,
        include_archived: bool,
        query: str | None,
    ) -> list[Session]:
        """One page of the user's sessions, newest activity first, after the keyset position."""
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
        rows = await self.conn.fetch(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE {' AND '.join(clauses)}"
            f" ORDER BY activity_at DESC, id DESC LIMIT ${len(args)}",
            *args,
        )
        return [_session(row) for row in rows]
