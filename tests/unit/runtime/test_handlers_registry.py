"""A consumer's handlers are keyed by event class (no servers)."""

from __future__ import annotations

import uuid

import pytest
from parley_contracts import Event, MessageCreated, SessionDeleted
from parley_runtime import Handlers
from parley_runtime.bus import event_type_of


async def _noop(event: object, ctx: object) -> None:
    return None


def test_handlers_route_by_the_event_type_of_their_class() -> None:
    handlers = Handlers().on(MessageCreated, _noop).on(SessionDeleted, _noop)
    assert handlers.event_types == ["message.created", "session.deleted"]
    assert handlers.get("message.created") is _noop
    assert handlers.get("reply.completed") is None


def test_a_class_gets_one_handler_only() -> None:
    with pytest.raises(ValueError, match="MessageCreated already has a handler"):
        Handlers().on(MessageCreated, _noop).on(MessageCreated, _noop)


def test_only_concrete_events_can_be_handled() -> None:
    assert event_type_of(SessionDeleted) == "session.deleted"
    with pytest.raises(TypeError):
        event_type_of(Event)


def _message(turn: int) -> MessageCreated:
    return MessageCreated(
        session_id=uuid.uuid4(), user_id="ann", message_id=uuid.uuid4(), seq=2 * turn - 1,
        turn=turn, content="hi", model="echo-1",
    )  # fmt: skip


def test_batched_handlers_are_named_and_never_prechecked() -> None:
    handlers = Handlers().on(MessageCreated, _noop, batch=True).on(SessionDeleted, _noop)
    deleted = SessionDeleted(session_id=uuid.uuid4(), user_id="ann")
    assert handlers.batched(_message(1)) and not handlers.batched(deleted)
    with pytest.raises(ValueError, match="cannot be batched"):
        Handlers().on(MessageCreated, _noop, precheck=True, batch=True)


def test_a_handler_can_be_batched_for_some_events_only() -> None:
    handlers = Handlers().on(MessageCreated, _noop, batch=lambda m: m.turn > 1)
    assert not handlers.batched(_message(1)) and handlers.batched(_message(2))
    with pytest.raises(ValueError, match="cannot be batched"):
        Handlers().on(MessageCreated, _noop, precheck=True, batch=lambda m: True)
