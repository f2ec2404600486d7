"""Idle expiry on a fake unit of work: a session idle past its ``idle_ttl_s`` is deleted by the
maintenance pass exactly as ``DELETE`` deletes it (``session.deleted`` published and announced);
a new message keeps it alive; without a time to live, or before it runs out, nothing happens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from parley_contracts import SessionDeleted
from parley_gateway.api.schemas import SessionCreate
from parley_gateway.application import messages, sessions
from parley_gateway.domain.sessions import Session
from parley_gateway.settings import GatewaySettings
from pydantic import ValidationError

ALICE = "alice"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def _create(uow: Any, settings: GatewaySettings, **new: Any) -> uuid.UUID:
    session, _ = await sessions.create_session(uow, settings, ALICE, sessions.NewSession(**new))
    uow.sessions.rows[session.id].created_at = T0  # a fixed clock for the rules below
    return session.id


def test_a_session_knows_when_it_expires() -> None:
    session = Session(uuid.uuid4(), ALICE, "n", "default", "echo-1", created_at=T0, idle_ttl_s=60)
    assert session.expires_at == _at(60)
    assert not session.is_expired(_at(59.9))
    assert session.is_expired(_at(60)) and session.is_expired(_at(61))
    session.last_message_at = _at(50)  # a message is activity: the clock starts again
    assert session.expires_at == _at(110) and not session.is_expired(_at(61))
    forever = Session(uuid.uuid4(), ALICE, "n", "default", "echo-1", created_at=T0)
    assert forever.expires_at is None and not forever.is_expired(_at(10**9))


async def test_an_idle_session_is_deleted_as_by_delete(uow: Any, settings: Any) -> None:
    sid = await _create(uow, settings, idle_ttl_s=60)
    keep = await _create(uow, settings, idle_ttl_s=600)
    uow.published.clear(), uow.announced.clear()

    assert await sessions.expire_idle_sessions(uow, now=_at(59)) == 0
    assert sid in uow.sessions.rows and not uow.published

    assert await sessions.expire_idle_sessions(uow, now=_at(61)) == 1
    assert sid not in uow.sessions.rows and keep in uow.sessions.rows
    [event] = uow.published
    assert isinstance(event, SessionDeleted) and (event.session_id, event.user_id) == (sid, ALICE)
    [change] = uow.announced
    assert (change.event, change.session_id, change.user_id) == ("session.deleted", sid, ALICE)
    assert await sessions.expire_idle_sessions(uow, now=_at(61)) == 0  # nothing twice


async def test_a_new_message_keeps_the_session_alive(uow: Any, settings: Any) -> None:
    sid = await _create(uow, settings, idle_ttl_s=60)
    await messages.post_message(uow, ALICE, sid, uuid.uuid4(), "still here", max_chars=100)
    posted_at = uow.sessions.rows[sid].last_message_at
    assert uow.sessions.rows[sid].expires_at == posted_at + timedelta(seconds=60)
    assert await sessions.expire_idle_sessions(uow, now=posted_at + timedelta(seconds=59)) == 0
    assert await sessions.expire_idle_sessions(uow, now=posted_at + timedelta(seconds=60)) == 1


async def test_the_server_default_applies_only_when_configured_and_not_overridden(
    uow: Any, settings: GatewaySettings
) -> None:
    forever = await _create(uow, settings)
    assert uow.sessions.rows[forever].idle_ttl_s is None
    assert await sessions.expire_idle_sessions(uow, now=_at(10**8)) == 0

    configured = settings.model_copy(update={"default_idle_ttl_s": 3600})
    defaulted = await _create(uow, configured)
    chosen = await _create(uow, configured, idle_ttl_s=30)
    assert uow.sessions.rows[defaulted].idle_ttl_s == 3600
    assert uow.sessions.rows[chosen].idle_ttl_s == 30
    assert await sessions.expire_idle_sessions(uow, now=_at(31)) == 1
    assert set(uow.sessions.rows) == {forever, defaulted}


async def test_one_pass_erases_at_most_its_batch(uow: Any, settings: Any) -> None:
    for _ in range(5):
        await _create(uow, settings, idle_ttl_s=1)
    assert await sessions.expire_idle_sessions(uow, now=_at(2), limit=3) == 3
    assert await sessions.expire_idle_sessions(uow, now=_at(2), limit=3) == 2
    assert not uow.sessions.rows


@pytest.mark.parametrize("bad", [0, -5, 366 * 24 * 3600 + 1])
def test_the_server_default_is_validated(bad: int) -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(jwt_secret="unit-test-secret-0123456789-abcdef", default_idle_ttl_s=bad)


@pytest.mark.parametrize("bad", [0, -1, 366 * 24 * 3600 + 1, "60", 1.5, True])
def test_an_idle_ttl_outside_its_range_or_type_is_refused(bad: object) -> None:
    with pytest.raises(ValidationError, match="idle_ttl_s"):
        SessionCreate.model_validate({"idle_ttl_s": bad})
    assert SessionCreate.model_validate({"idle_ttl_s": 1}).idle_ttl_s == 1
    assert SessionCreate.model_validate({"idle_ttl_s": None}).idle_ttl_s is None


async def test_an_edit_changes_or_removes_the_time_to_live(uow: Any, settings: Any) -> None:
    sid = await _create(uow, settings, idle_ttl_s=60)

    def edit(**fields: Any) -> sessions.SessionEdit:
        return sessions.SessionEdit(given=frozenset(fields), **fields)

    await sessions.edit_session(uow, settings, ALICE, sid, edit(idle_ttl_s=600))
    assert uow.sessions.rows[sid].expires_at == _at(600)
    assert await sessions.expire_idle_sessions(uow, now=_at(61)) == 0
    await sessions.edit_session(uow, settings, ALICE, sid, edit(persona="terse"))
    assert uow.sessions.rows[sid].idle_ttl_s == 600  # left out: unchanged
    await sessions.edit_session(uow, settings, ALICE, sid, edit(idle_ttl_s=None))
    assert uow.sessions.rows[sid].expires_at is None
    assert await sessions.expire_idle_sessions(uow, now=_at(10**8)) == 0
