"""A consumer's handlers are keyed by event class (no servers)."""

from __future__ import annotations

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


def test_batched_handlers_are_named_and_never_prechecked() -> None:
    handlers = Handlers().on(MessageCreated, _noop, batch=True).on(SessionDeleted, _noop)
    assert handlers.batched("message.created") and not handlers.batched("session.deleted")
    with pytest.raises(ValueError, match="cannot be batched"):
        Handlers().on(MessageCreated, _noop, precheck=True, batch=True)
