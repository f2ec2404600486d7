"""Property tests (Hypothesis) of the shared contracts: every event and live payload survives
its wire format unchanged, and derived ids are deterministic."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st
from parley_contracts import (
    MessageCreated,
    ReplyCompleted,
    ReplyDelta,
    ReplyFailed,
    SessionChange,
    SessionCreated,
    SessionDeleted,
    SessionNamed,
    SessionTagged,
    derive_id,
    parse_event,
)

users = st.text(min_size=1, max_size=200)
texts = st.text(max_size=300)
positive = st.integers(min_value=1, max_value=2**31 - 1)
envelope = {"session_id": st.uuids(), "user_id": users, "correlation_id": st.none() | st.uuids()}

events = st.one_of(
    st.builds(
        SessionCreated,
        **envelope,
        name=texts,
        name_source=st.sampled_from(["default", "provisional", "auto", "user"]),
        model=texts,
        persona=st.none() | texts,
        analytics_opt_out=st.booleans(),
    ),
    st.builds(
        MessageCreated,
        **envelope,
        message_id=st.uuids(),
        seq=positive,
        turn=positive,
        content=texts,
        model=texts,
        persona=st.none() | texts,
    ),
    st.builds(
        ReplyCompleted,
        **envelope,
        message_id=st.uuids(),
        reply_to=st.uuids(),
        turn=positive,
        content=texts,
        prompt=texts,
        model=texts,
        provider=texts,
        upstream_session_id=texts,
        latency_ms=st.integers(min_value=0, max_value=10**9),
        input_tokens=st.none() | st.integers(min_value=0, max_value=10**9),
    ),
    st.builds(ReplyFailed, **envelope, reply_to=st.uuids(), turn=positive, reason=texts),
    st.builds(
        SessionNamed,
        **envelope,
        name=st.text(min_size=1, max_size=200),
        attempt=positive,
        language=st.none() | st.sampled_from(["en", "fr", "de"]),
    ),
    st.builds(
        SessionTagged,
        **envelope,
        session_tag=texts,
        model=texts,
        model_id=st.uuids(),
        counter=positive,
        label=texts,
    ),
    st.builds(SessionDeleted, **envelope),
)


@settings(max_examples=200, deadline=None)
@given(events)
def test_every_event_survives_the_wire_unchanged(event) -> None:
    parsed = parse_event(event.to_json())
    assert type(parsed) is type(event) and parsed == event


@given(st.uuids(), st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_a_derived_id_depends_only_on_its_cause_and_kind(
    cause: uuid.UUID, kind: str, other: str
) -> None:
    assert derive_id(cause, kind) == derive_id(cause, kind)
    assert (derive_id(cause, kind) == derive_id(cause, other)) is (kind == other)


@given(st.builds(ReplyDelta, reply_to=st.uuids(), index=st.integers(0, 10**6), text=texts))
def test_a_reply_delta_survives_the_wire_unchanged(delta: ReplyDelta) -> None:
    assert ReplyDelta.model_validate_json(delta.to_json()) == delta


changes = st.builds(
    SessionChange,
    event=st.sampled_from(
        ["session.created", "session.updated", "session.named", "session.tagged", "session.deleted"]
    ),
    user_id=users,
    session_id=st.uuids(),
    name=st.none() | texts,
    is_archived=st.none() | st.booleans(),
    message_count=st.none() | st.integers(0, 2**31 - 1),
    tags=st.none() | st.lists(texts, max_size=3),
)


@given(changes)
def test_a_session_change_survives_notify_and_shows_clients_only_what_it_sets(
    change: SessionChange,
) -> None:
    assert SessionChange.model_validate_json(change.to_json()) == change
    data = change.for_client()
    assert "user_id" not in data and "event" not in data
    assert data["session_id"] == str(change.session_id)
    assert all(value is not None for value in data.values())
