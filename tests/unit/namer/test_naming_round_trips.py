"""What each event costs the namer's store, on fakes: one round trip to keep a message, one read
before an attempt that also tells a deleted session or a handled event (no chassis pre-check),
and nothing at all for the messages and replies of a session known settled."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable
from typing import Any

import pytest
from namer_events import USER, message, reply
from parley_contracts import SessionCreated, SessionDeleted, SessionRenamed
from parley_namer.application import naming as naming_module
from parley_namer.application.naming import Naming
from parley_namer.consumers import NamerHandlers
from parley_namer.domain.names import Turn
from parley_namer.domain.ports import NamingState
from parley_runtime import AlreadyProcessed, SessionGone


async def calls_of(store: Any, handling: Awaitable[None]) -> list[str]:
    """The store methods that ``handling`` (not started yet) calls: one round trip each."""
    before = len(store.calls)
    await handling
    return store.calls[before:]


def created(session: uuid.UUID) -> SessionCreated:
    return SessionCreated(
        session_id=session, user_id=USER, name="New chat", name_source="default", model="echo-1"
    )


async def test_each_event_costs_the_fewest_round_trips(
    naming: Naming, store: Any, namer: Any, ctx: Any
) -> None:
    session = uuid.uuid4()
    await naming.session_created(ctx, created(session))
    assert await calls_of(store, naming.message_created(ctx, message(session, 1))) == [
        "keep_unattempted"  # kept, guarded on a new state, with the provisional name: one statement
    ]
    assert await calls_of(store, naming.reply_completed(ctx, reply(session, 1))) == [
        "naming_input", "settle_attempt",  # read; kept, counted, recorded and named as read
    ]  # fmt: skip
    for turn in (2, 3):  # named: no attempt will read them, so they need nothing
        assert await calls_of(store, naming.message_created(ctx, message(session, turn))) == []
        assert await calls_of(store, naming.reply_completed(ctx, reply(session, turn))) == []
    assert len(namer.calls) == 1
    assert [t.role for _, t in sorted(store.kept[session].items())] == ["assistant", "user"]
    assert ctx.optimistic_units == 3  # no transaction for any of them
    assert [(e.source, e.attempt) for e in ctx.published] == [("provisional", 0), ("auto", 1)]


async def test_a_first_message_before_its_session_is_decided_under_the_lock(
    naming: Naming, store: Any, ctx: Any
) -> None:
    session = uuid.uuid4()  # session.created not seen yet: no state to guard on
    assert await calls_of(store, naming.message_created(ctx, message(session, 1))) == [
        "keep_unattempted", "keep",
    ]  # fmt: skip
    assert [e.source for e in ctx.published] == ["provisional"]


async def test_a_state_changed_during_an_attempt_is_settled_under_the_lock(
    naming: Naming, store: Any, namer: Any, ctx: Any
) -> None:
    session = uuid.uuid4()
    await naming.session_created(ctx, created(session))
    await naming.message_created(ctx, message(session, 1))

    async def renamed() -> None:
        rename = SessionRenamed(session_id=session, user_id=USER, name="Mine")
        await naming.session_renamed(ctx, rename)

    namer.meanwhile = renamed
    calls = await calls_of(store, naming.reply_completed(ctx, reply(session, 1)))
    assert calls == ["naming_input", "set_user_named", "settle_attempt", "keep", "record_attempt"]
    [row] = store.attempts
    assert (row["outcome"], row["detail"]) == ("superseded", "session became user meanwhile")
    assert (store.states[session].status, store.states[session].name) == ("user", "Mine")
    assert [e.source for e in ctx.published] == ["provisional"]  # no automatic name


async def test_a_settled_session_is_read_once_by_a_process_that_did_not_settle_it(
    store: Any, namer: Any, offline: Any, observed: Any, ctx: Any
) -> None:
    session = uuid.uuid4()
    store.states[session] = NamingState(session, USER, status="user", name="Trip")
    store.kept[session] = {(1, "user"): Turn("user", "Plan a trip")}
    fresh = Naming(store, namer, offline, observed)  # e.g. another replica, or after a restart
    assert await calls_of(store, fresh.reply_completed(ctx, reply(session, 1))) == [
        "naming_input"
    ]  # read settled: nothing to keep
    assert await calls_of(store, fresh.reply_completed(ctx, reply(session, 2))) == []
    assert namer.calls == [] and store.attempts == []


async def test_a_pending_session_is_read_at_every_milestone(
    naming: Naming, store: Any, namer: Any, ctx: Any
) -> None:
    session = uuid.uuid4()
    namer.titles = ()  # no name yet: tried again after each of the first three replies
    for turn in (1, 2, 3, 4):
        await naming.message_created(ctx, message(session, turn))
        calls = await calls_of(store, naming.reply_completed(ctx, reply(session, turn)))
        assert calls[0] == ("naming_input" if turn <= 3 else "keep_last")  # no attempt after 3
    assert [a["trigger_turn"] for a in store.attempts] == [1, 2, 3]


async def test_a_reply_of_a_deleted_session_is_dropped_before_any_attempt(
    naming: Naming, store: Any, namer: Any, ctx: Any
) -> None:
    session = uuid.uuid4()
    await naming.message_created(ctx, message(session, 1))
    store.gone.add(session)
    with pytest.raises(SessionGone):
        await naming.reply_completed(ctx, reply(session, 1))
    assert namer.calls == [] and store.attempts == []


async def test_a_reply_handled_already_is_not_tried_again(
    naming: Naming, store: Any, namer: Any, ctx: Any
) -> None:
    session = uuid.uuid4()
    await naming.message_created(ctx, message(session, 1))
    redelivered = reply(session, 1)
    store.handled.add(redelivered.event_id)
    with pytest.raises(AlreadyProcessed):
        await naming.reply_completed(ctx, redelivered)
    assert namer.calls == [] and store.attempts == []


async def test_a_session_renamed_after_a_failed_attempt_is_left_alone(
    naming: Naming, store: Any, namer: Any, offline: Any, ctx: Any
) -> None:
    session = uuid.uuid4()
    namer.titles = ()
    await naming.message_created(ctx, message(session, 1))
    await naming.reply_completed(ctx, reply(session, 1))  # no name: still pending
    await naming.session_renamed(ctx, SessionRenamed(session_id=session, user_id=USER, name="X"))
    assert await calls_of(store, naming.message_created(ctx, message(session, 2))) == []
    assert await calls_of(store, naming.reply_completed(ctx, reply(session, 2))) == []
    assert len(namer.calls) == 1  # settled by its user: known so once the rename committed


async def test_a_session_renamed_by_another_process_is_read_once_then_left_alone(
    naming: Naming, store: Any, namer: Any, ctx: Any
) -> None:
    session = uuid.uuid4()
    namer.titles = ()
    await naming.message_created(ctx, message(session, 1))
    await naming.reply_completed(ctx, reply(session, 1))  # no name: still pending
    store.states[session] = dataclasses.replace(store.states[session], status="user")  # elsewhere
    await naming.message_created(ctx, message(session, 2))
    assert await calls_of(store, naming.reply_completed(ctx, reply(session, 2))) == [
        "naming_input"
    ]
    assert await calls_of(store, naming.reply_completed(ctx, reply(session, 3))) == []
    assert len(namer.calls) == 1


async def test_the_settled_sessions_remembered_are_bounded(
    monkeypatch: pytest.MonkeyPatch, naming: Naming, store: Any, ctx: Any
) -> None:
    monkeypatch.setattr(naming_module, "SETTLED_SESSIONS", 2)
    sessions = [uuid.uuid4() for _ in range(3)]
    for session in sessions:
        await naming.message_created(ctx, message(session, 1))
        await naming.reply_completed(ctx, reply(session, 1))  # named
    for session in sessions:
        await naming.message_created(ctx, message(session, 2))
    first = await calls_of(store, naming.reply_completed(ctx, reply(sessions[0], 2)))
    last = await calls_of(store, naming.reply_completed(ctx, reply(sessions[2], 2)))
    assert (first, last) == (["naming_input"], [])  # the oldest was forgotten: read again


async def test_a_deleted_session_is_forgotten_as_settled(
    naming: Naming, store: Any, ctx: Any
) -> None:
    session = uuid.uuid4()
    await naming.message_created(ctx, message(session, 1))
    await naming.reply_completed(ctx, reply(session, 1))  # named: remembered
    await naming.session_deleted(ctx, SessionDeleted(session_id=session, user_id=USER))
    store.gone.add(session)
    with pytest.raises(SessionGone):  # read again, and dropped before anything is kept
        await naming.reply_completed(ctx, reply(session, 2))
    assert session not in store.kept


async def test_replies_are_not_prechecked_and_only_pure_writes_are_batched(
    naming: Naming, ctx: Any
) -> None:
    handlers = NamerHandlers(naming).consumer_spec().handlers
    assert not any(handlers.prechecked(t) for t in handlers.event_types)
    session = uuid.uuid4()
    assert handlers.batched(SessionDeleted(session_id=session, user_id=USER))
    assert handlers.batched(SessionRenamed(session_id=session, user_id=USER, name="Trip"))
    # the first message makes a provisional name; a reply of a session not known settled reads
    assert not handlers.batched(message(session, 1)) and handlers.batched(message(session, 2))
    assert not handlers.batched(reply(session, 2))
    await naming.message_created(ctx, message(session, 1))
    await naming.reply_completed(ctx, reply(session, 1))  # named: known settled from now on
    # its events need nothing at all: handled alone, they open no transaction of a batch
    assert not handlers.batched(reply(session, 2)) and not handlers.batched(message(session, 3))
    assert handlers.batched(reply(uuid.uuid4(), 4))  # past the naming turns: only kept
