"""Chat hands a session's lock over from inside the statement that settles a turn, on a real
PostgreSQL: no release of its own follows; the next holder reads the ledger only once that
statement committed; a statement refused keeps the lock held until the turn's block ends."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from parley_chat.adapters import store
from parley_chat.app import MIGRATIONS  # noqa: F401 - read by the conn fixture, with SCHEMA
from parley_chat.domain.turns import TurnLedger
from parley_contracts import MessageCreated, Subjects
from parley_runtime import WriteConflict
from parley_runtime.uow import joined_unit_of_work
from stack import own_statements

SCHEMA = "chathandover"


def _message(session_id: uuid.UUID, turn: int) -> MessageCreated:
    return MessageCreated(
        session_id=session_id, user_id="store", message_id=uuid.uuid4(), turn=turn,
        seq=2 * turn - 1, content=f"question {turn}", model="echo", persona=None,
    )  # fmt: skip


async def _settle_handing_over(hold: store.SessionHold, ledger: TurnLedger, turn: int) -> None:
    """Settle ``turn`` on ``ledger`` as chat does, on the lock's connection, handing it over."""
    event = _message(hold.session_id, turn)
    async with joined_unit_of_work(
        hold.conn, Subjects("t"), SCHEMA, consumer="chat", cause=event, optimistic=True
    ) as uow:
        assert ledger.settle(turn, answered=True)
        await store.save_turn(uow, ledger, turn, event.content, "an answer", hand_over=hold)
    uow.committed()


async def _opened(conn: asyncpg.Connection) -> uuid.UUID:
    """A session whose ledger is stored (version 1), as after its upstream session opened."""
    session_id = uuid.uuid4()
    await store.save_opened(conn, session_id=session_id, user_id="store", provider="echo",
                            model="echo", upstream_id="up-1")  # fmt: skip
    return session_id


async def test_the_settling_statement_hands_the_lock_over(
    pool: asyncpg.Pool, conn: asyncpg.Connection, statements: list[str]
) -> None:
    session_id = await _opened(conn)
    async with store.session_lock(pool, session_id) as locked:
        assert locked is not None and locked.ledger is not None and locked.hold is not None
        await asyncio.sleep(0)
        statements.clear()
        await _settle_handing_over(locked.hold, locked.ledger, 1)
        async with store.session_lock(pool, session_id) as other:
            assert other is not None  # handed over: free before the block ends
            assert other.ledger is not None and other.ledger.last_turn == 1
    await asyncio.sleep(0.01)
    ours = own_statements(statements)
    assert len([s for s in ours if "pg_advisory_xact_lock" in s]) == 1
    unlocks = [s for s in ours if s.startswith("SELECT pg_advisory_unlock")]
    assert len(unlocks) == 1  # the second holder's own release, none for the first


async def test_the_next_holder_reads_only_once_the_handover_committed(
    pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    session_id = await _opened(conn)
    async with store.session_lock(pool, session_id) as locked:
        assert locked is not None and locked.ledger is not None and locked.hold is not None
        hold = locked.hold
        transaction = hold.conn.transaction()  # keeps the handing-over statement uncommitted
        await transaction.start()
        await _settle_handing_over(hold, locked.ledger, 1)

        async def next_turn() -> TurnLedger | None:
            async with store.session_lock(pool, session_id) as taken:
                assert taken is not None  # the session lock itself is free already
                return taken.ledger

        reading = asyncio.create_task(next_turn())
        await asyncio.sleep(0.3)
        assert not reading.done()  # waits on the handover lock, not on a stale ledger
        await transaction.commit()
        ledger = await asyncio.wait_for(reading, 5)
    assert ledger is not None and ledger.last_turn == 1 and ledger.version == 2


async def test_a_refused_statement_keeps_the_lock_until_the_block_ends(
    pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    session_id = await _opened(conn)
    async with store.session_lock(pool, session_id) as locked:
        assert locked is not None and locked.ledger is not None and locked.hold is not None
        await store.save_opened(conn, session_id=session_id, user_id="store", provider="echo",
                                model="echo", upstream_id="up-2")  # the row moves on  # fmt: skip
        with pytest.raises(WriteConflict):
            await _settle_handing_over(locked.hold, locked.ledger, 1)
        assert not locked.hold.handed_over
        async with store.session_lock(pool, session_id) as other:
            assert other is None  # still held by this turn
    async with store.session_lock(pool, session_id) as again:
        assert again is not None  # released when the block ended
