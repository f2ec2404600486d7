"""The namer's store on a real PostgreSQL: what each event of a session costs in statements on
the namer's tables, what they keep, a state locked while another transaction creates it, the
one read before an attempt (tombstone and inbox included), and an attempt without a state."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest
from namer_events import USER, message, reply
from parley_contracts import SessionCreated, Subjects
from parley_namer.adapters import store
from parley_namer.app import MIGRATIONS  # noqa: F401 - read by the conn fixture, with SCHEMA
from parley_namer.application.attempts import Made
from parley_namer.application.naming import Naming
from parley_namer.domain.names import Turn
from parley_namer.domain.policy import Proposal
from parley_runtime import HandlerContext, WriteConflict
from stack import Servers, own_statements

SCHEMA = "namerstore"
NAMER_TABLES = ("naming_state", "exchanges", "naming_attempts")


class OneName:
    """A namer that names every conversation "Sorting Lists"."""

    async def propose(
        self, turns: Sequence[Turn], *, count: int = 1, avoid: Sequence[str] = ()
    ) -> Proposal:
        return Proposal(titles=("Sorting Lists",), language="en", namer="offline")


def ctx_of(pool: asyncpg.Pool, servers: Servers) -> HandlerContext:
    return HandlerContext(
        consumer="namer", schema=SCHEMA, subjects=Subjects(servers.prefix), pool=pool,
        broker=None, delivery=1,  # type: ignore[arg-type]  # the namer's handlers use no broker
    )  # fmt: skip


async def namer_statements(statements: list[str], handling: Any) -> tuple[int, int]:
    """Statements while ``handling`` (not started yet) runs: all of them (``BEGIN`` and
    ``COMMIT`` included, not asyncpg's own), and those on the namer's own tables."""
    before = len(statements)
    await handling
    await asyncio.sleep(0.01)  # asyncpg logs a statement soon after it ran
    ran = own_statements(statements[before:])
    return len(ran), sum(any(t in q for t in NAMER_TABLES) for q in ran)


async def test_a_session_costs_no_statement_per_event_once_named(
    pool: asyncpg.Pool, statements: list[str], servers: Servers
) -> None:
    ctx, session = ctx_of(pool, servers), uuid.uuid4()
    naming = Naming(store, OneName(), OneName(), lambda *_: None)
    created = SessionCreated(session_id=session, user_id=USER, name="New chat",
                             name_source="default", model="echo-1")  # fmt: skip
    assert await namer_statements(statements, naming.session_created(ctx, created)) == (1, 1)
    # kept with the provisional name and the inbox mark, guarded on a new state: no transaction
    first = naming.message_created(ctx, message(session, 1))
    assert await namer_statements(statements, first) == (1, 1)
    # read; then kept, counted, recorded and named, guarded on the state as read
    assert await namer_statements(statements, naming.reply_completed(ctx, reply(session, 1))) == (
        2, 2,
    )  # fmt: skip
    for turn in (2, 3):  # named: nothing will read them again
        later = naming.message_created(ctx, message(session, turn))
        assert await namer_statements(statements, later) == (0, 0)
        later = naming.reply_completed(ctx, reply(session, turn))
        assert await namer_statements(statements, later) == (0, 0)
    state = await pool.fetchrow("SELECT * FROM naming_state WHERE session_id = $1", session)
    assert (state["status"], state["name"], state["attempts"]) == ("named", "Sorting Lists", 1)
    kept = await pool.fetch("SELECT turn, role FROM exchanges WHERE session_id = $1", session)
    assert sorted((r["turn"], r["role"]) for r in kept) == [(1, "assistant"), (1, "user")]
    [attempt] = await pool.fetch("SELECT * FROM naming_attempts WHERE session_id = $1", session)
    assert (attempt["attempt"], attempt["outcome"], attempt["name"], attempt["namer"]) == (
        1, "named", "Sorting Lists", "offline",
    )  # fmt: skip
    sources = await pool.fetch(
        "SELECT convert_from(payload, 'UTF8')::jsonb->>'source' AS source FROM outbox"
        " WHERE event_type = 'session.named'"
        " AND convert_from(payload, 'UTF8')::jsonb->>'session_id' = $1 ORDER BY id",
        str(session),
    )
    assert [r["source"] for r in sources] == ["provisional", "auto"]


async def test_the_guarded_writes_are_refused_whole_when_the_state_moved_on(
    pool: asyncpg.Pool, servers: Servers
) -> None:
    session, user_turn = uuid.uuid4(), (1, Turn("user", "Plan a trip"))
    first, answered = message(session, 1), reply(session, 1)
    async with pool.acquire() as conn:
        await store.keep(conn, session, USER)
        read = await store.naming_input(conn, session, consumer="namer", event_id=uuid.uuid4())
        await conn.execute("UPDATE naming_state SET status = 'user' WHERE session_id = $1", session)
    assert read.state is not None
    made = Made(1, "named", Proposal(titles=("Trip",), language="en", namer="offline"), None, 5)
    row = made.row(read.state, USER, "auto")
    with pytest.raises(WriteConflict):  # the user named it since it was read
        async with ctx_of(pool, servers).unit_of_work(answered, optimistic=True) as uow:
            exchange = (1, Turn("assistant", "Sure"))
            await store.settle_attempt(uow, read.state, exchange, row, ("Trip", "en"))
    with pytest.raises(WriteConflict):  # no longer pending: no provisional name
        async with ctx_of(pool, servers).unit_of_work(first, optimistic=True) as uow:
            await store.keep_unattempted(uow, session, user_turn)
            await uow.publish(Naming._named(first, "Trip", 0, "en", "provisional"))
    state = await pool.fetchrow("SELECT * FROM naming_state WHERE session_id = $1", session)
    assert (state["status"], state["attempts"], state["name"]) == ("user", 0, None)
    for table in ("exchanges", "naming_attempts"):
        sql = f"SELECT count(*) FROM {table} WHERE session_id = $1"
        assert await pool.fetchval(sql, session) == 0
    assert await pool.fetchval(
        "SELECT count(*) FROM inbox WHERE event_id = ANY($1::uuid[])",
        [first.event_id, answered.event_id],
    ) == 0  # fmt: skip
    assert await pool.fetchval(
        "SELECT count(*) FROM outbox WHERE convert_from(payload, 'UTF8')::jsonb->>'session_id' = $1",
        str(session),
    ) == 0  # fmt: skip


async def test_keep_cuts_a_message_keeps_the_first_and_locks_on_demand(pool: asyncpg.Pool) -> None:
    session = uuid.uuid4()
    async with pool.acquire() as conn:
        assert await store.keep(conn, session, USER, (1, Turn("user", "x" * 900))) is None
        await store.keep(conn, session, USER, (1, Turn("user", "another first message")))
        async with conn.transaction():
            state = await store.keep(conn, session, "someone else", lock=True)
    assert state is not None and (state.status, state.user_id, state.attempts) == (
        "pending", USER, 0,
    )  # fmt: skip
    read = await store.naming_input(pool, session, consumer="namer", event_id=uuid.uuid4())
    assert read.kept == {(1, "user"): Turn("user", "x" * 500)}
    assert (read.gone, read.handled, read.state) == (False, False, state)


async def test_a_state_created_by_another_transaction_meanwhile_is_returned_locked(
    pool: asyncpg.Pool,
) -> None:
    session = uuid.uuid4()
    async with pool.acquire() as first, first.transaction():
        await store.keep(first, session, USER, lock=True)  # created, not committed yet

        async def second() -> Any:
            async with pool.acquire() as conn, conn.transaction():
                return await store.keep(conn, session, "bob", (1, Turn("user", "hi")), lock=True)

        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.2)
        assert not waiting.done()  # held by the first transaction's lock
    state = await asyncio.wait_for(waiting, 5)
    assert state is not None and (state.session_id, state.user_id) == (session, USER)


async def test_the_read_before_an_attempt_tells_a_deleted_session_and_a_handled_event(
    pool: asyncpg.Pool,
) -> None:
    session, event_id = uuid.uuid4(), uuid.uuid4()
    read = await store.naming_input(pool, session, consumer="namer", event_id=event_id)
    assert (read.gone, read.handled, read.state, read.kept) == (False, False, None, {})
    await pool.execute("INSERT INTO deleted_sessions (session_id) VALUES ($1)", session)
    await pool.execute(
        "INSERT INTO inbox (consumer, event_id, event_type) VALUES ('namer', $1, 'reply.completed')",
        event_id,
    )
    read = await store.naming_input(pool, session, consumer="namer", event_id=event_id)
    assert (read.gone, read.handled) == (True, True)
    other = await store.naming_input(pool, session, consumer="tagger", event_id=event_id)
    assert other.handled is False


async def test_an_attempt_needs_a_state(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(LookupError):
            await store.record_attempt(
                conn, uuid.uuid4(), trigger_turn=1, outcome="no_name", name=None,
                language=None, detail=None, duration_ms=3,
            )  # fmt: skip
