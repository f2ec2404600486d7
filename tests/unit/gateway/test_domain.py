"""The gateway's domain objects: a message's status rules and a session's counters."""

from __future__ import annotations

import uuid

import pytest
from parley_gateway.domain.messages import DEFAULT_FAILURE, Message
from parley_gateway.domain.sessions import RuleViolation, Session


def _session() -> Session:
    return Session(id=uuid.uuid4(), user_id="u", name="New chat", name_source="default", model="m")


def test_a_pending_message_fails_once_and_an_answer_wins_over_a_failure() -> None:
    session = _session()
    asked = session.append(Message.from_user(uuid.uuid4(), session.id, "q"))
    assert asked.fail("down") and asked.failure == "down"
    assert not asked.fail("again") and asked.error == "down"
    reply = session.append(Message.reply(uuid.uuid4(), session.id, asked.id, "a"))
    asked.answer(reply)
    assert (asked.status, asked.failure, asked.settled) == ("answered", None, True)
    assert not asked.fail("late")


def test_a_failure_without_a_reason_says_so_plainly() -> None:
    message = Message.from_user(uuid.uuid4(), uuid.uuid4(), "q")
    message.fail("")
    assert message.failure == DEFAULT_FAILURE


def test_a_reply_must_answer_its_own_message() -> None:
    session = _session()
    asked = session.append(Message.from_user(uuid.uuid4(), session.id, "q"))
    stray = Message.reply(uuid.uuid4(), session.id, uuid.uuid4(), "a")
    with pytest.raises(ValueError):
        asked.answer(stray)


def test_appending_moves_seq_and_counters_and_refuses_another_sessions_message() -> None:
    session = _session()
    user = session.append(Message.from_user(uuid.uuid4(), session.id, "q"))
    reply = session.append(Message.reply(uuid.uuid4(), session.id, user.id, "a"))
    assert (user.seq, reply.seq) == (1, 2)
    assert (session.message_count, session.user_turns, session.next_seq) == (2, 1, 3)
    assert session.last_message_at == reply.created_at == session.activity_at
    with pytest.raises(ValueError):
        session.append(Message.from_user(uuid.uuid4(), uuid.uuid4(), "q"))


@pytest.mark.parametrize(
    ("source", "accepts"),
    [("default", True), ("provisional", True), ("auto", False), ("user", False)],
)
def test_only_default_and_provisional_names_accept_an_automatic_name(
    source: str, accepts: bool
) -> None:
    session = _session()
    session.name_source = source  # type: ignore[assignment]
    assert session.accepts_auto_name() is accepts
    assert session.apply_auto_name("Auto") is accepts


def test_a_users_name_is_checked_and_trimmed() -> None:
    session = _session()
    session.rename("  Mine  ", 200)
    assert (session.name, session.name_source) == ("Mine", "user")
    with pytest.raises(RuleViolation):
        session.rename("   ", 200)
