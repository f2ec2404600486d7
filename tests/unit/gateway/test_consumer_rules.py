"""The rules the gateway applies to other services' events, and the reading of a message's
outcome, on a fake unit of work (no servers)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from parley_contracts import ReplyCompleted, SessionNamed, SessionTagged
from parley_gateway.application import messages, replies, sessions

ALICE = "alice"


async def _pending(uow: Any, settings: Any, **new: Any) -> tuple[uuid.UUID, uuid.UUID]:
    session, _ = await sessions.create_session(uow, settings, ALICE, sessions.NewSession(**new))
    message, _ = await messages.post_message(
        uow, ALICE, session.id, uuid.uuid4(), "hello", max_chars=100
    )
    return session.id, message.id


def _reply(sid: uuid.UUID, asked: uuid.UUID, message_id: uuid.UUID | None = None) -> ReplyCompleted:
    return ReplyCompleted(
        session_id=sid,
        user_id=ALICE,
        message_id=message_id or uuid.uuid4(),
        reply_to=asked,
        turn=1,
        content="hi there",
        prompt="hello",
        model="echo-1",
        provider="echo",
        upstream_session_id="u1",
        latency_ms=3,
    )


async def test_a_reply_is_stored_once_with_the_next_seq_and_answers_its_message(
    uow: Any, settings: Any
) -> None:
    sid, asked = await _pending(uow, settings)
    event = _reply(sid, asked)
    for _ in range(2):  # a redelivery changes nothing
        async with uow() as tx:
            assert await replies.store_reply(tx, event)
    reply = uow.messages.rows[event.message_id]
    assert (reply.seq, reply.role, reply.status, reply.reply_to) == (
        2,
        "assistant",
        "completed",
        asked,
    )
    assert uow.messages.rows[asked].status == "answered"
    assert uow.sessions.rows[sid].message_count == 2
    assert uow.replies_announced == [asked, asked]
    told = uow.replies_told[asked]  # what this replica's waiters get without a read
    assert told.settled and (told.message, told.reply) == (uow.messages.rows[asked], reply)


async def test_a_reply_for_a_deleted_session_is_dropped(uow: Any, settings: Any) -> None:
    sid, asked = await _pending(uow, settings)
    await sessions.delete_session(uow, ALICE, sid)
    async with uow() as tx:
        assert not await replies.store_reply(tx, _reply(sid, asked))
    assert not [m for m in uow.messages.rows.values() if m.role == "assistant"]


async def test_a_failure_marks_only_a_pending_message_and_a_late_reply_still_lands(
    uow: Any, settings: Any
) -> None:
    sid, asked = await _pending(uow, settings)
    async with uow() as tx:
        assert await replies.fail_message(tx, asked, "upstream down")
        assert not await replies.fail_message(tx, asked, "again")
    assert (uow.messages.rows[asked].status, uow.messages.rows[asked].error) == (
        "failed",
        "upstream down",
    )
    async with uow() as tx:
        await replies.store_reply(tx, _reply(sid, asked))
    assert uow.messages.rows[asked].status == "answered"
    assert uow.messages.rows[asked].error is None
    async with uow() as tx:  # answered stays answered
        assert not await replies.fail_message(tx, asked, "too late")
    assert uow.messages.rows[asked].status == "answered"


async def test_only_messages_past_the_deadline_are_failed(uow: Any, settings: Any) -> None:
    _, old = await _pending(uow, settings)
    _, fresh = await _pending(uow, settings)
    uow.messages.rows[old].created_at = datetime.now(UTC) - timedelta(seconds=901)
    assert await replies.fail_stale_messages(uow, 900) == 1
    assert uow.messages.rows[old].status == "failed"
    assert "900 s" in (uow.messages.rows[old].error or "")
    assert uow.messages.rows[fresh].status == "pending"
    assert uow.replies_announced == [old]
    assert uow.replies_told[old].settled and uow.replies_told[old].reply is None


@pytest.mark.parametrize(
    ("new", "applied"),
    [({}, True), ({"name": "Mine"}, False)],
    ids=["default-name", "users-name"],
)
async def test_an_automatic_name_never_replaces_a_users_name(
    uow: Any, settings: Any, new: dict[str, Any], applied: bool
) -> None:
    sid, _ = await _pending(uow, settings, **new)
    named = SessionNamed(session_id=sid, user_id=ALICE, name="Greetings", attempt=1)
    async with uow() as tx:
        assert await replies.apply_auto_name(tx, named) is applied
    session = uow.sessions.rows[sid]
    assert session.name == ("Greetings" if applied else "Mine")
    assert session.name_source == ("auto" if applied else "user")
    assert (uow.announced[-1].event == "session.named") is applied


async def test_a_second_automatic_name_does_not_replace_the_first(uow: Any, settings: Any) -> None:
    sid, _ = await _pending(uow, settings)
    for name in ("First", "Second"):
        async with uow() as tx:
            await replies.apply_auto_name(
                tx, SessionNamed(session_id=sid, user_id=ALICE, name=name, attempt=1)
            )
    assert uow.sessions.rows[sid].name == "First"


async def test_a_tag_is_recorded_and_announced(uow: Any, settings: Any) -> None:
    sid, _ = await _pending(uow, settings)
    tagged = SessionTagged(
        session_id=sid,
        user_id=ALICE,
        session_tag="chat_model_abc123_1",
        model="echo-1",
        model_id=uuid.uuid4(),
        counter=1,
        label="echo-1 #1",
    )
    async with uow() as tx:
        assert await replies.record_tag(tx, tagged)
    session = uow.sessions.rows[sid]
    assert (session.session_tag, session.tags) == ("chat_model_abc123_1", ["echo-1 #1"])
    assert uow.announced[-1].tags == ["echo-1 #1"]


async def test_an_outcome_never_shows_a_pending_message_beside_its_reply(
    uow: Any, settings: Any
) -> None:
    sid, asked = await _pending(uow, settings)
    read = messages.outcome_reader(uow)
    before = await read(asked)
    assert not before.settled and before.reply is None
    async with uow() as tx:
        await replies.store_reply(tx, _reply(sid, asked))
    after = await read(asked)
    assert after.settled and after.reply is not None and after.message.status == "answered"
