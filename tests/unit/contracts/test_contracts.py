"""The event contracts: round trips, validation, deterministic ids and subjects."""

from __future__ import annotations

import uuid

import pytest
from parley_contracts import (
    EVENT_TYPES,
    MessageCreated,
    ReplyCompleted,
    StreamSpec,
    Subjects,
    derive_id,
    parse_event,
)
from pydantic import ValidationError

SESSION = uuid.UUID("11111111-2222-3333-4444-555555555555")


def _message(**extra: object) -> MessageCreated:
    return MessageCreated(
        session_id=SESSION,
        user_id="ann",
        message_id=uuid.uuid4(),
        seq=1,
        turn=1,
        content="Bonjour, comment ça va ?",
        model="echo-1",
        **extra,
    )


def _matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, ``>`` the rest (one token or more)."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


def test_every_event_round_trips_through_json() -> None:
    event = _message()
    parsed = parse_event(event.to_json())
    assert parsed == event and isinstance(parsed, MessageCreated)
    assert parsed.occurred_at.utcoffset() is not None


def test_all_eight_event_types_are_known() -> None:
    assert set(EVENT_TYPES) == {
        "session.created",
        "message.created",
        "reply.completed",
        "reply.failed",
        "session.named",
        "session.renamed",
        "session.tagged",
        "session.deleted",
    }


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b'{"event_type": "message.created"}',
        b'{"event_type": "nope.unknown", "session_id": "11111111-2222-3333-4444-555555555555"}',
        _message().to_json().replace(b'"turn":1', b'"turn":0'),
        _message().to_json()[:-1] + b',"surprise":true}',
    ],
)
def test_what_does_not_match_a_contract_is_rejected(data: bytes) -> None:
    with pytest.raises(ValidationError):
        parse_event(data)


def test_derived_ids_are_deterministic_and_distinct_per_kind() -> None:
    cause = uuid.uuid4()
    assert derive_id(cause, "reply.completed") == derive_id(cause, "reply.completed")
    assert derive_id(cause, "reply.completed") != derive_id(cause, "reply.failed")
    assert derive_id(cause, "reply.completed") != derive_id(uuid.uuid4(), "reply.completed")
    assert derive_id(cause, "x").version == 5


def test_subjects_follow_prefix_entity_event_session() -> None:
    subjects = Subjects("acme")
    reply = ReplyCompleted(
        session_id=SESSION,
        user_id="ann",
        message_id=uuid.uuid4(),
        reply_to=uuid.uuid4(),
        turn=1,
        content="hi",
        prompt="hello",
        model="m",
        provider="echo",
        upstream_session_id="u",
        latency_ms=3,
    )
    assert subjects.of(reply) == f"acme.reply.completed.{SESSION}"
    assert subjects.filter("session.named") == "acme.session.named.*"
    assert subjects.dead_letter("chat", None) == "acme.deadletter.chat.unknown"
    assert subjects.live_reply(SESSION) == f"acme.live.reply.{SESSION}"
    stream = StreamSpec.for_prefix("ACME", "acme")
    assert "acme.deadletter.>" in stream.subjects
    # Live deltas and queries are views, not records: no stream subject matches them.
    for subject in (subjects.live_reply(SESSION), subjects.query("tagger", "traces")):
        assert not any(_matches(pattern, subject) for pattern in stream.subjects), subject
    assert _matches("acme.session.>", subjects.event("session.named", SESSION))
    with pytest.raises(ValueError):
        Subjects("bad.prefix")
    with pytest.raises(ValueError):
        subjects.filter("message.exploded")
