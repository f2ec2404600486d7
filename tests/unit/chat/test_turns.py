"""Chat's use cases on fakes (no servers): a message is answered on one upstream session in
turn order, duplicates and early turns are refused before any upstream call, and a turn given up
gets one ``reply.failed``."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from parley_chat.application.turns import SETTLE_TRIES, Turns
from parley_contracts import MessageCreated, ReplyCompleted, ReplyDelta, ReplyFailed, SessionDeleted
from parley_runtime import AlreadyProcessed, RetryLater, SessionGone, Unprocessable, WriteConflict

SESSION = uuid.uuid4()


def message(turn: int, model: str = "echo-1", *, live: bool = True) -> MessageCreated:
    return MessageCreated(
        session_id=SESSION, user_id="ann", message_id=uuid.uuid4(), turn=turn,
        seq=2 * turn - 1, content=f"question {turn}", model=model, persona=None, live=live,
    )  # fmt: skip


async def test_messages_are_answered_on_one_upstream_session_opened_once(
    turns: Turns, upstream: Any, store: Any, ctx: Any
) -> None:
    await turns.answer(message(1), ctx)
    await turns.answer(message(2), ctx)
    assert upstream.opened == 1
    first = store.opened[0]
    assert upstream.sent == [first, first]  # the second turn continued the same session
    replies = [e for e in ctx.published if isinstance(e, ReplyCompleted)]
    assert [(r.turn, r.upstream_session_id) for r in replies] == [(1, first), (2, first)]
    ledger = store.ledgers[SESSION]
    assert (ledger.last_turn, ledger.replies, ledger.opened_count) == (2, 2, 1)
    assert [t for t, _, _ in store.transcripts[SESSION]] == [1, 2]
    deltas = [ReplyDelta.model_validate_json(d) for _, d in ctx.connection.published]
    assert (
        "".join(d.text for d in deltas if d.reply_to == replies[0].reply_to) == replies[0].content
    )


async def test_a_settled_turn_is_a_duplicate_and_calls_nothing(
    turns: Turns, upstream: Any, ctx: Any
) -> None:
    first = message(1)
    await turns.answer(first, ctx)
    with pytest.raises(AlreadyProcessed):
        await turns.answer(first, ctx)
    assert len(upstream.sent) == 1
    assert len([e for e in ctx.published if isinstance(e, ReplyCompleted)]) == 1


async def test_a_turn_before_its_predecessor_waits_and_calls_nothing(
    turns: Turns, upstream: Any, ctx: Any
) -> None:
    with pytest.raises(RetryLater, match="waits for turn 1"):
        await turns.answer(message(2), ctx)
    assert upstream.sent == []


async def test_a_session_another_process_is_answering_waits(
    turns: Turns, upstream: Any, store: Any, ctx: Any
) -> None:
    store.locked.add(SESSION)
    with pytest.raises(RetryLater, match="in flight"):
        await turns.answer(message(1), ctx)
    assert upstream.sent == []


async def test_a_model_outside_the_catalogue_can_never_be_answered(turns: Turns, ctx: Any) -> None:
    with pytest.raises(Unprocessable, match="not in the catalogue"):
        await turns.answer(message(1, model="gpt-nobody"), ctx)


async def test_a_refused_turn_is_given_up_once_and_the_next_turn_goes_on(
    turns: Turns, upstream: Any, store: Any, ctx: Any
) -> None:
    upstream.fail = True
    refused = message(1)
    with pytest.raises(Unprocessable, match="refused this message: content refused"):
        await turns.answer(refused, ctx)
    await turns.give_up(refused, "unprocessable: The model refused this message", ctx)
    await turns.give_up(refused, "again", ctx)  # a second give-up changes nothing
    failed = [e for e in ctx.published if isinstance(e, ReplyFailed)]
    assert [(f.turn, f.reason) for f in failed] == [(1, "The model refused this message")]
    upstream.fail = False
    await turns.answer(message(2), ctx)
    assert store.ledgers[SESSION].last_turn == 2


async def test_text_no_database_can_store_is_replaced_in_the_reply(
    turns: Turns, upstream: Any, store: Any, ctx: Any
) -> None:
    upstream.reply = "nul\x00 and \udc80 lone"
    await turns.answer(message(1), ctx)
    (reply,) = [e for e in ctx.published if isinstance(e, ReplyCompleted)]
    assert reply.content == "nul\ufffd and \ufffd lone"
    assert store.transcripts[SESSION][0][2] == reply.content


async def test_deleting_a_session_erases_its_ledger_and_transcript(
    turns: Turns, store: Any, ctx: Any
) -> None:
    await turns.answer(message(1), ctx)
    await turns.erase(SessionDeleted(session_id=SESSION, user_id="ann"), ctx)
    assert SESSION not in store.ledgers and SESSION not in store.transcripts
    assert ctx.forgotten == [SESSION]


async def test_a_message_of_a_deleted_session_is_dropped_before_any_upstream_call(
    turns: Turns, upstream: Any, store: Any, ctx: Any
) -> None:
    store.gone.add(SESSION)
    with pytest.raises(SessionGone):
        await turns.answer(message(1), ctx)
    assert upstream.opened == 0 and upstream.sent == [] and ctx.published == []


async def test_a_reply_nobody_streams_publishes_no_deltas(
    turns: Turns, store: Any, ctx: Any
) -> None:
    await turns.answer(message(1, live=False), ctx)
    assert [e for e in ctx.published if isinstance(e, ReplyCompleted)]
    assert ctx.connection.published == []


async def test_a_turn_settles_in_one_optimistic_unit_on_the_ledger_read_under_the_lock(
    turns: Turns, store: Any, ctx: Any
) -> None:
    await turns.answer(message(1), ctx)
    await turns.answer(message(2), ctx)
    assert ctx.optimistic_units == 2
    ledger = store.ledgers[SESSION]
    assert (ledger.last_turn, ledger.opened_count, ledger.version) == (2, 1, 3)  # opened, 1, 2


async def test_a_turn_given_up_during_an_answer_settles_with_it_on_the_locked_row(
    turns: Turns, store: Any, ctx: Any
) -> None:
    await turns.answer(message(1), ctx)

    def give_up_turn_3(fakes: Any) -> None:  # another process gives turn 3 up meanwhile
        fakes.interleave = None
        stored = fakes.ledgers[SESSION]
        stored.settle(3, answered=False)
        stored.version += 1

    store.interleave = give_up_turn_3
    await turns.answer(message(2), ctx)
    ledger = store.ledgers[SESSION]
    assert (ledger.last_turn, ledger.failed_turns, ledger.replies) == (3, set(), 2)
    assert ctx.optimistic_units == 2  # the second one was refused, then settled on the lock
    assert [e.turn for e in ctx.published if isinstance(e, ReplyCompleted)] == [1, 2]


async def test_a_ledger_changed_at_every_try_is_left_to_a_later_delivery(
    turns: Turns, store: Any, ctx: Any
) -> None:
    await turns.answer(message(1), ctx)
    changes = [0]

    def bump(fakes: Any) -> None:  # another writer moves the ledger on before every save
        changes[0] += 1
        fakes.ledgers[SESSION].version += 1

    store.interleave = bump
    with pytest.raises(WriteConflict):
        await turns.answer(message(2), ctx)
    assert changes[0] == SETTLE_TRIES  # each try read again, none called the upstream again
    assert [e.turn for e in ctx.published if isinstance(e, ReplyCompleted)] == [1]
