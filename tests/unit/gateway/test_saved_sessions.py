"""A gateway replica's sessions as last committed (:class:`SavedSessions`): a copy is taken out
by the unit of work that uses it and put back as old as it was, an older version never replaces
a newer one, and copies expire and are bounded."""

from __future__ import annotations

import uuid

import pytest
from parley_gateway.adapters import saved_sessions
from parley_gateway.adapters.saved_sessions import SavedSessions, copy_of
from parley_gateway.domain.messages import Message
from parley_gateway.domain.sessions import Session


def session(version: int = 0, session_id: uuid.UUID | None = None) -> Session:
    return Session(id=session_id or uuid.uuid4(), user_id="u", name="New chat",
                   name_source="default", model="echo", version=version)  # fmt: skip


def test_a_copy_is_taken_out_by_whoever_uses_it_and_put_back_as_old_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(saved_sessions.time, "monotonic", lambda: now[0])
    saved, kept = SavedSessions(ttl_s=30.0), session()
    saved.keep(kept)
    now[0] += 20
    taken = saved.take(kept.id)
    assert taken == (kept, 100.0)
    assert saved.take(kept.id) is None  # a second unit of work reads the row instead
    saved.restore(kept, 100.0)  # the first one wrote nothing
    now[0] += 11
    assert saved.take(kept.id) is None  # 31 s since it was kept, not 11
    newer = session(version=1, session_id=kept.id)
    saved.keep(newer)
    saved.restore(kept, 100.0)  # a later copy was kept meanwhile: it stays
    assert saved.take(kept.id) == (newer, 131.0)


def test_an_older_version_never_replaces_a_newer_one() -> None:
    saved, newer = SavedSessions(), session(version=3)
    saved.keep(newer)
    saved.keep(session(version=2, session_id=newer.id))  # a commit that finished later
    taken = saved.take(newer.id)
    assert taken is not None and taken[0] is newer


def test_copies_expire_and_the_least_recently_kept_go_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(saved_sessions.time, "monotonic", lambda: now[0])
    saved = SavedSessions(capacity=2, ttl_s=30.0)
    first, second, third = session(), session(), session()
    for kept in (first, second, third):
        saved.keep(kept)
    assert len(saved) == 2 and saved.take(first.id) is None  # the oldest went
    now[0] += 31
    assert saved.take(second.id) is None  # too old to start from
    saved.forget(third.id)
    assert len(saved) == 0


def test_a_copy_shares_nothing_changeable() -> None:
    original = session()
    original.metadata["topic"] = "trip"
    original.tags.append("travel")
    copy = copy_of(original)
    copy.metadata["topic"] = "work"
    copy.tags.append("office")
    assert (original.metadata, original.tags) == ({"topic": "trip"}, ["travel"])
    assert copy == copy_of(copy) and copy.version == original.version


def test_a_posted_message_is_kept_until_taken_for_its_reply_within_the_ttl(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(saved_sessions.time, "monotonic", lambda: now[0])
    saved = SavedSessions(capacity=2, ttl_s=30.0)
    posted = [Message.from_user(uuid.uuid4(), uuid.uuid4(), f"Hello {n}?") for n in range(3)]
    for message in posted:
        saved.keep_asked(message)
    assert saved.take_asked(posted[0].id) is None  # bounded: the oldest went out
    taken = saved.take_asked(posted[1].id)
    assert taken == posted[1] and taken is not posted[1]  # a copy
    assert saved.take_asked(posted[1].id) is None  # taken out: a second reply reads the row
    now[0] += 31
    assert saved.take_asked(posted[2].id) is None  # too old
