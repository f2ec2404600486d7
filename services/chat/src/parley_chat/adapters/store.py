"""Turn ledgers (table ``upstream_sessions``) and transcripts in the chat schema (asyncpg)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
from parley_runtime import UnitOfWork
from parley_runtime.refusals import write_alone
from parley_runtime.statements import LastWrite

from ..domain.ports import LockedSession
from ..domain.turns import TurnLedger
from ..domain.upstream import TranscriptTurn

LEDGER_COLUMNS = (
    "session_id, user_id, provider, model, upstream_id, opened_count, last_turn, failed_turns,"
    " replies, version"
)


async def load(
    conn: asyncpg.Connection | asyncpg.Pool, session_id: uuid.UUID, *, for_update: bool = False
) -> TurnLedger | None:
    """The turn ledger of a Parley session, or None when the chat service has none yet;
    ``for_update`` locks its row until the transaction ends."""
    row = await conn.fetchrow(
        f"SELECT {LEDGER_COLUMNS} FROM upstream_sessions WHERE session_id = $1"
        + (" FOR UPDATE" if for_update else ""),
        session_id,
    )
    return _ledger(row) if row is not None else None


def _ledger(row: asyncpg.Record) -> TurnLedger:
    fields = {name: row[name] for name in LEDGER_COLUMNS.split(", ")}
    fields["failed_turns"] = set(fields["failed_turns"])
    return TurnLedger(**fields)


#: A ledger read as stored (version 1 and up): its row replaced if still at the version read
#: (``$7``) with the next one (``$8``); a row deleted meanwhile is not written again.
_UPDATE_LEDGER = (
    "UPDATE upstream_sessions SET upstream_id = $2, opened_count = $3, last_turn = $4,"
    " failed_turns = $5, replies = $6, version = $8, updated_at = now()"
    " WHERE session_id = $1 AND version = $7 RETURNING 1"
)
#: A new ledger (version 0): its row inserted at version 1, unless one appeared meanwhile.
_INSERT_LEDGER = (
    f"INSERT INTO upstream_sessions ({LEDGER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
    " $9, 1) ON CONFLICT (session_id) DO NOTHING RETURNING 1"
)


def _ledger_write(ledger: TurnLedger) -> tuple[str, tuple[object, ...]]:
    """The write of ``ledger`` over the version it was read at, as the CTE ``ledger`` (which
    returns a row only when written), and its parameters (``$1``..)."""
    if ledger.version:
        return f"ledger AS ({_UPDATE_LEDGER})", (
            ledger.session_id, ledger.upstream_id, ledger.opened_count, ledger.last_turn,
            sorted(ledger.failed_turns), ledger.replies, ledger.version, ledger.version + 1,
        )  # fmt: skip
    return f"ledger AS ({_INSERT_LEDGER})", (
        ledger.session_id, ledger.user_id, ledger.provider, ledger.model, ledger.upstream_id,
        ledger.opened_count, ledger.last_turn, sorted(ledger.failed_turns), ledger.replies,
    )  # fmt: skip


async def save(conn: asyncpg.Connection, ledger: TurnLedger) -> None:
    """Store ``ledger`` over the version it was read at (a new one inserted, a stored one
    replaced), which then counts one up.

    Raises:
        WriteConflict: the stored row is at another version, or gone, or (for a new ledger)
            appeared meanwhile: nothing is written.
    """
    cte, args = _ledger_write(ledger)
    await write_alone(conn, LastWrite((cte,), args, "ledger"))
    ledger.version += 1


async def save_turn(
    uow: UnitOfWork,
    ledger: TurnLedger,
    turn: int,
    user: str,
    assistant: str,
    *,
    hand_over: SessionHold | None = None,
) -> None:
    """Store ``ledger`` over the version it was read at and keep both messages of its settled
    ``turn`` (a turn kept before stays as it was): one write, left to the unit of work's last
    statement (:meth:`~parley_runtime.UnitOfWork.write_last`), refused whole with
    :class:`~parley_runtime.WriteConflict` if the ledger's row moved to another version.

    With ``hand_over`` (the session lock, held on the unit of work's connection), that statement
    also hands the lock over when it stands (:meth:`SessionHold.handover`): no release of its
    own after it commits. A refused statement keeps the lock held.
    """
    cte, args = _ledger_write(ledger)
    p = len(args)
    then, then_args = None, ()
    if hand_over is not None and hand_over.conn is uow.conn:
        then, then_args = hand_over.handover(p + 4)
        uow.after_commit(hand_over.handed)
    await uow.write_last(
        (
            cte,
            "kept AS (INSERT INTO transcript (session_id, turn, role, content) VALUES"
            f" ($1, ${p + 1}, 'user', ${p + 2}), ($1, ${p + 1}, 'assistant', ${p + 3})"
            " ON CONFLICT DO NOTHING)",
        ),
        *args,
        turn,
        user,
        assistant,
        *then_args,
        guard="ledger",
        then=then,
    )
    ledger.version += 1


async def save_opened(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    session_id: uuid.UUID,
    user_id: str,
    provider: str,
    model: str,
    upstream_id: str,
) -> tuple[int, int]:
    """Record a newly opened upstream session at once, outside the reply's transaction (the
    session's advisory lock is held), moving the row's version on (a new row is version 1);
    returns ``(how often one was opened for it, the row's version now)``."""
    row = await conn.fetchrow(
        "INSERT INTO upstream_sessions (session_id, user_id, provider, model, upstream_id,"
        " opened_count, version) VALUES ($1, $2, $3, $4, $5, 1, 1)"
        " ON CONFLICT (session_id) DO UPDATE SET upstream_id = EXCLUDED.upstream_id,"
        " provider = EXCLUDED.provider, model = EXCLUDED.model,"
        " opened_count = upstream_sessions.opened_count + 1,"
        " version = upstream_sessions.version + 1, updated_at = now()"
        " RETURNING opened_count, version",
        session_id,
        user_id,
        provider,
        model,
        upstream_id,
    )
    assert row is not None
    return int(row["opened_count"]), int(row["version"])


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


def handover_key(session_id: uuid.UUID) -> tuple[int, int]:
    """The key of a session's handover lock: the same 64 bits as :func:`lock_key`, as two
    signed 32-bit integers (advisory locks on two integers never meet those on one bigint)."""
    bits = session_id.bytes
    return (
        int.from_bytes(bits[:4], "big", signed=True),
        int.from_bytes(bits[4:8], "big", signed=True),
    )


@dataclass
class SessionHold:
    """The session lock this process holds: the connection that holds it (units of work that
    hand it over run on it), the session and whether it was handed over already."""

    conn: asyncpg.Connection
    session_id: uuid.UUID
    handed_over: bool = False

    def handover(self, p: int) -> tuple[str, tuple[object, ...]]:
        """The expression that hands the lock over from inside a statement, with parameters
        ``$p``.. and their values: it takes the session's handover lock until the statement's
        transaction ends, then releases the session lock (true when it was held)."""
        sql = f"(SELECT pg_advisory_unlock(${p}) FROM pg_advisory_xact_lock(${p + 1}, ${p + 2}))"
        return sql, (lock_key(self.session_id), *handover_key(self.session_id))

    def handed(self) -> None:
        """The statement that hands the lock over committed: nothing is left to release."""
        self.handed_over = True


@contextlib.asynccontextmanager
async def session_lock(
    pool: asyncpg.Pool, session_id: uuid.UUID
) -> AsyncIterator[LockedSession | None]:
    """Try to take the session's advisory lock (``pg_try_advisory_lock``) for the block, on a
    connection of its own, so that no two chat processes call the upstream for one session at
    once; yields None when another holder has it. Once it is held, whether the session was
    deleted and its ledger are read, in the same round trip (the function ``take_session``,
    migration 0005), once the last holder's handover committed: the ledger is the
    last holder's. The lock is released at the end of the block, unless a statement handed it
    over (:func:`save_turn` with the yielded ``hold``). A take that fails or is cancelled
    closes its connection, so a lock it may have taken goes with it."""
    async with pool.acquire() as conn:
        key = lock_key(session_id)
        try:
            row = await conn.fetchrow(
                "SELECT * FROM take_session($1, $2, $3, $4)",
                key, *handover_key(session_id), session_id,
            )  # fmt: skip
        except BaseException:
            conn.terminate()  # the server drops a session lock with its connection
            raise
        assert row is not None  # the function returns one row
        if not row["locked"]:
            yield None
            return
        hold = SessionHold(conn, session_id)
        try:
            stored = row["ledger"]
            ledger = _ledger(stored) if stored is not None else None
            yield LockedSession(gone=bool(row["gone"]), ledger=ledger, hold=hold)
        finally:
            if not hold.handed_over:
                await conn.execute("SELECT pg_advisory_unlock($1)", key)
