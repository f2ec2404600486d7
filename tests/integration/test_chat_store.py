"""Chat's turn ledger on a real PostgreSQL: a turn settles in one statement without a
transaction, over the ledger's version, with its transcript, inbox mark and outbox row; a ledger
whose row moved on (a turn given up), was erased, or was first stored meanwhile is refused
whole; opening an upstream session stores its row at the next version; a session's lock is
taken and its ledger read in one round trip; the statement that settles a turn hands the lock
over (no release of its own; the next holder reads only once it committed; a statement refused
keeps the lock held until the turn's block ends)."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from parley_chat.adapters import store
from parley_chat.app import MIGRATIONS  # noqa: F401 - read by the conn fixture, with SCHEMA
from parley_chat.domain.turns import TurnLedger
from parley_contracts import MessageCreated, ReplyFailed, Subjects
from parley_runtime import WriteConflict
from parley_runtime.uow import joined_unit_of_work
from stack import own_statements

SCHEMA = "chatstore"


def _message(session_id: uuid.UUID, turn: int) -> MessageCreated:
    return MessageCreated(
        session_id=session_id, user_id="store", message_id=uuid.uuid4(), turn=turn,
        seq=2 * turn - 1, content=f"question {turn}", model="echo", persona=None,
    )  # fmt: skip


async def _settle(conn: asyncpg.Connection, ledger: TurnLedger, event: MessageCreated) -> None:
    """Settle ``event``'s turn on ``ledger`` as chat does: one optimistic unit of work."""
    async with joined_unit_of_work(
        conn, Subjects("t"), SCHEMA, consumer="chat", cause=event, late_mark=True, optimistic=True
    ) as uow:
        assert ledger.settle(event.turn, answered=True)
        await store.save_turn(uow, ledger, event.turn, event.content, "an answer")
        await uow.publish(ReplyFailed(session_id=event.session_id, user_id="store",
                                      reply_to=event.message_id, turn=event.turn, reason="x"))  # fmt: skip


async def _counts(conn: asyncpg.Connection, event: MessageCreated) -> tuple[int, int, int]:
    """``(transcript rows, inbox marks, outbox rows)`` of ``event``'s session and event."""
    return (
        await conn.fetchval("SELECT count(*) FROM transcript WHERE session_id = $1",
                            event.session_id),
        await conn.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", event.event_id),
        await conn.fetchval("SELECT count(*) FROM outbox WHERE subject LIKE $1",
                            f"%{event.session_id}"),
    )  # fmt: skip


async def test_a_turn_settles_in_one_statement_over_the_version_it_read(
    conn: asyncpg.Connection, statements: list[str]
) -> None:
    session_id = uuid.uuid4()
    opened = await store.save_opened(conn, session_id=session_id, user_id="store",
                                     provider="echo", model="echo", upstream_id="up-1")  # fmt: skip
    assert opened == (1, 1)  # opened once; a new row is version 1
    ledger = await store.load(conn, session_id)
    assert ledger is not None and ledger.version == 1
    first = _message(session_id, 1)
    await asyncio.sleep(0)
    statements.clear()
    await _settle(conn, ledger, first)
    await asyncio.sleep(0)
    sent = [q for q in statements if not q.startswith("\n") and "typeinfo_tree" not in q]
    assert len(sent) == 1 and "INTO transcript" in sent[0] and "INTO inbox" in sent[0]
    assert await store.load(conn, session_id) == ledger and ledger.version == 2
    assert ledger.opened_count == 1 and ledger.upstream_id == "up-1"
    assert await _counts(conn, first) == (2, 1, 1)


async def test_a_ledger_that_moved_on_meanwhile_is_refused_whole(conn: asyncpg.Connection) -> None:
    session_id = uuid.uuid4()
    await store.save(conn, TurnLedger(session_id, "store", "echo", "echo"))
    read = await store.load(conn, session_id)
    given_up = await store.load(conn, session_id, for_update=False)
    assert read is not None and given_up is not None
    assert given_up.settle(2, answered=False)
    await store.save(conn, given_up)  # a give-up of turn 2 comes first
    first = _message(session_id, 1)
    with pytest.raises(WriteConflict):
        await _settle(conn, read, first)
    assert await _counts(conn, first) == (0, 0, 0)
    stored = await store.load(conn, session_id)
    assert stored is not None and stored.failed_turns == {2} and stored.version == 2
    await _settle(conn, stored, first)  # read again: turn 1 settles turn 2 with it
    assert await _counts(conn, first) == (2, 1, 1)
    assert (stored.last_turn, stored.failed_turns) == (2, set())
    assert await store.load(conn, session_id) == stored


async def test_a_ledger_erased_meanwhile_is_not_written_again(conn: asyncpg.Connection) -> None:
    session_id = uuid.uuid4()
    await store.save(conn, TurnLedger(session_id, "store", "echo", "echo"))
    read = await store.load(conn, session_id)
    assert read is not None
    await store.erase_session(conn, session_id)  # the session is deleted during the turn
    first = _message(session_id, 1)
    with pytest.raises(WriteConflict):
        await _settle(conn, read, first)
    assert await store.load(conn, session_id) is None
    assert await _counts(conn, first) == (0, 0, 0)


async def test_a_new_ledger_is_not_written_over_one_stored_meanwhile(
    conn: asyncpg.Connection,
) -> None:
    session_id = uuid.uuid4()
    new = TurnLedger(session_id, "store", "echo", "echo")  # read: no ledger yet
    given_up = TurnLedger(session_id, "store", "echo", "echo")
    assert given_up.settle(2, answered=False)
    await store.save(conn, given_up)  # a give-up stores the first ledger meanwhile
    with pytest.raises(WriteConflict):
        await _settle(conn, new, _message(session_id, 1))
    stored = await store.load(conn, session_id)
    assert stored is not None and stored.failed_turns == {2} and stored.version == 1


async def test_a_session_is_locked_and_read_in_one_round_trip(
    pool: asyncpg.Pool, conn: asyncpg.Connection, statements: list[str]
) -> None:
    session_id = uuid.uuid4()
    await asyncio.sleep(0)
    statements.clear()
    async with store.session_lock(pool, session_id) as locked:
        await asyncio.sleep(0.01)
        assert own_statements(statements) == ["SELECT * FROM take_session($1, $2, $3, $4)"]
        assert locked is not None and (locked.gone, locked.ledger) == (False, None)
        async with store.session_lock(pool, session_id) as other:
            assert other is None  # held: another turn of the session waits
    await store.save_opened(conn, session_id=session_id, user_id="store", provider="echo",
                            model="echo", upstream_id="up-1")  # fmt: skip
    await conn.execute("INSERT INTO deleted_sessions (session_id) VALUES ($1)", session_id)
    async with store.session_lock(pool, session_id) as locked:  # released: taken again
        assert locked is not None and locked.gone
        assert locked.ledger == await store.load(conn, session_id)
        assert locked.ledger is not None and locked.ledger.upstream_id == "up-1"


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


async def _session_locks(conn: asyncpg.Connection, session_id: uuid.UUID) -> int:
    """How many session-level advisory locks on ``session_id``'s key are granted."""
    key = store.lock_key(session_id) & 0xFFFFFFFFFFFFFFFF  # pg_locks shows unsigned halves
    return int(await conn.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1"
        " AND granted AND classid::bigint = $1 AND objid::bigint = $2",
        key >> 32, key & 0xFFFFFFFF,
    ))  # fmt: skip


async def test_a_take_cut_short_while_it_waits_leaves_nothing_locked(
    pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    session_id = await _opened(conn)
    async with store.session_lock(pool, session_id) as locked:
        assert locked is not None and locked.ledger is not None and locked.hold is not None
        transaction = locked.hold.conn.transaction()  # the handover stays uncommitted
        await transaction.start()
        await _settle_handing_over(locked.hold, locked.ledger, 1)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3), store.session_lock(pool, session_id):
                pytest.fail("taken before the handover committed")
        old = await pool.acquire()  # a chat process of the previous version waits as well
        try:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3):
                    await old.fetchrow(
                        "SELECT * FROM lock_session($1, $2)", store.lock_key(session_id),
                        session_id,
                    )  # fmt: skip
        finally:
            await pool.release(old)
        assert await _session_locks(conn, session_id) == 0  # neither took the lock
        await transaction.commit()
    # The take cut short closed its connection; its server process, still waiting, may take
    # the lock once the handover commits, and ends (letting it go) when it cannot answer.
    for _ in range(200):  # polled: that state is another server process's to change
        if not await _session_locks(conn, session_id):
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the lock was held for 10 s after the handover")
    async with store.session_lock(pool, session_id) as again:
        assert again is not None and again.ledger is not None and again.ledger.last_turn == 1
        assert await _session_locks(conn, session_id) == 1
