"""The gateway's use cases of sessions and messages on a fake unit of work (no servers)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from parley_contracts import MessageCreated, SessionCreated, SessionDeleted, SessionRenamed
from parley_gateway.application import messages, sessions
from parley_gateway.domain.idempotency import IdempotencyKeyReused, RequestKey
from parley_gateway.domain.sessions import RuleViolation, SessionNotFound

ALICE, BOB = "alice", "bob"


async def _session(uow: Any, settings: Any, **new: Any) -> uuid.UUID:
    session, _ = await sessions.create_session(uow, settings, ALICE, sessions.NewSession(**new))
    return session.id


async def _post(uow: Any, sid: uuid.UUID, content: str = "hi", **kw: Any) -> Any:
    return await messages.post_message(
        uow, ALICE, sid, uuid.uuid4(), content, max_chars=100, key_ttl_s=60, **kw
    )


async def test_a_new_session_has_the_default_name_and_is_announced(uow: Any, settings: Any) -> None:
    sid = await _session(uow, settings)
    stored = uow.sessions.rows[sid]
    assert (stored.name, stored.name_source, stored.model) == ("New chat", "default", "echo-1")
    [event] = uow.published
    assert isinstance(event, SessionCreated) and event.session_id == sid
    assert [c.event for c in uow.announced] == ["session.created"]


async def test_a_name_given_at_creation_is_the_users(uow: Any, settings: Any) -> None:
    sid = await _session(uow, settings, name="  Trip plans ")
    assert (uow.sessions.rows[sid].name, uow.sessions.rows[sid].name_source) == (
        "Trip plans",
        "user",
    )


@pytest.mark.parametrize(
    "new",
    [{"name": " \n "}, {"name": "x" * 201}, {"metadata": {"blob": "x" * 20_000}}],
    ids=["blank", "too-long", "metadata-too-large"],
)
async def test_a_session_breaking_a_rule_is_refused_and_nothing_is_written(
    uow: Any, settings: Any, new: dict[str, Any]
) -> None:
    with pytest.raises(RuleViolation):
        await _session(uow, settings, **new)
    assert not uow.sessions.rows and not uow.published


async def test_an_idempotent_retry_returns_the_first_session_and_another_body_is_refused(
    uow: Any, settings: Any
) -> None:
    key = RequestKey("k1", "fp-1")
    first, created = await sessions.create_session(
        uow, settings, ALICE, sessions.NewSession(name="One"), key
    )
    again, created_again = await sessions.create_session(
        uow, settings, ALICE, sessions.NewSession(name="One"), key
    )
    assert (created, created_again) == (True, False) and again.id == first.id
    with pytest.raises(IdempotencyKeyReused):
        await sessions.create_session(
            uow, settings, ALICE, sessions.NewSession(name="Two"), RequestKey("k1", "fp-2")
        )
    assert len(uow.sessions.rows) == 1 and len(uow.published) == 1


async def test_a_rename_is_the_users_and_is_published(uow: Any, settings: Any) -> None:
    sid = await _session(uow, settings)
    edit = sessions.SessionEdit(given=frozenset({"name"}), name="Mine")
    session = await sessions.edit_session(uow, settings, ALICE, sid, edit)
    assert (session.name, session.name_source) == ("Mine", "user")
    assert isinstance(uow.published[-1], SessionRenamed)
    assert uow.announced[-1].event == "session.updated"


async def test_an_edit_clears_the_persona_only_when_asked(uow: Any, settings: Any) -> None:
    sid = await _session(uow, settings, persona="pirate")
    archive = sessions.SessionEdit(given=frozenset({"is_archived"}), is_archived=True)
    session = await sessions.edit_session(uow, settings, ALICE, sid, archive)
    assert session.is_archived and session.persona == "pirate"
    clear = sessions.SessionEdit(given=frozenset({"persona", "metadata"}))
    session = await sessions.edit_session(uow, settings, ALICE, sid, clear)
    assert session.persona is None and session.metadata == {}


async def test_a_null_name_is_refused(uow: Any, settings: Any) -> None:
    sid = await _session(uow, settings)
    with pytest.raises(RuleViolation):
        await sessions.edit_session(
            uow, settings, ALICE, sid, sessions.SessionEdit(given=frozenset({"name"}))
        )


async def test_another_users_session_is_not_found_for_every_use(uow: Any, settings: Any) -> None:
    sid = await _session(uow, settings)
    edit = sessions.SessionEdit(given=frozenset({"name"}), name="x")
    for attempt in (
        sessions.get_session(uow, BOB, sid, with_messages=False),
        sessions.edit_session(uow, settings, BOB, sid, edit),
        sessions.delete_session(uow, BOB, sid),
        messages.post_message(uow, BOB, sid, uuid.uuid4(), "hi", max_chars=100),
        messages.list_messages(uow, BOB, sid, after_seq=0, limit=10),
    ):
        with pytest.raises(SessionNotFound):
            await attempt
    assert uow.sessions.rows[sid].name == "New chat"


async def test_deleting_a_session_removes_it_and_tells_every_service(
    uow: Any, settings: Any
) -> None:
    sid = await _session(uow, settings)
    await sessions.delete_session(uow, ALICE, sid)
    assert sid not in uow.sessions.rows
    assert isinstance(uow.published[-1], SessionDeleted)


async def test_sessions_are_paged_newest_activity_first(uow: Any, settings: Any) -> None:
    ids = [await _session(uow, settings, name=f"s{i}") for i in range(3)]
    await _post(uow, ids[0])
    page, more = await sessions.list_sessions(uow, ALICE, limit=2)
    assert [s.id for s in page] == [ids[0], ids[2]] and more


async def test_messages_take_the_next_seq_and_count_turns(uow: Any, settings: Any) -> None:
    sid = await _session(uow, settings)
    first, _ = await _post(uow, sid, "one")
    second, _ = await _post(uow, sid, "two")
    assert (first.seq, second.seq) == (1, 2) and first.status == "pending"
    session = uow.sessions.rows[sid]
    assert (session.message_count, session.user_turns, session.next_seq) == (2, 2, 3)
    assert session.last_message_at == second.created_at
    created = [e for e in uow.published if isinstance(e, MessageCreated)]
    assert [(e.seq, e.turn) for e in created] == [(1, 1), (2, 2)]
    assert uow.announced[-1].message_count == 2


@pytest.mark.parametrize("content", ["   ", "a\x00b", "x" * 101])
async def test_a_message_breaking_a_rule_writes_nothing(
    uow: Any, settings: Any, content: str
) -> None:
    sid = await _session(uow, settings)
    with pytest.raises(RuleViolation):
        await _post(uow, sid, content)
    assert not uow.messages.rows and uow.sessions.rows[sid].message_count == 0


async def test_an_idempotent_message_retry_returns_the_first_and_refuses_another_body(
    uow: Any, settings: Any
) -> None:
    sid = await _session(uow, settings)
    other = await _session(uow, settings)
    first, created = await _post(uow, sid, "q", request_key=RequestKey("m", "fp"))
    again, created_again = await _post(uow, sid, "q", request_key=RequestKey("m", "fp"))
    assert (created, created_again) == (True, False) and again.id == first.id
    with pytest.raises(IdempotencyKeyReused):
        await _post(uow, sid, "other", request_key=RequestKey("m", "fp-other"))
    with pytest.raises(IdempotencyKeyReused):
        await _post(uow, other, "q", request_key=RequestKey("m", "fp"))
    assert len(uow.messages.rows) == 1


async def test_messages_are_paged_by_seq(uow: Any, settings: Any) -> None:
    sid = await _session(uow, settings)
    for i in range(5):
        await _post(uow, sid, f"m{i}")
    page, more = await messages.list_messages(uow, ALICE, sid, after_seq=2, limit=2)
    assert [m.seq for m in page] == [3, 4] and more
