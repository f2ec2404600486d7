"""Posting a message while watching for its reply, on a fake unit of work and a fake watcher
(no servers): the watch is open before the message is committed and closed after."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from parley_contracts import MessageCreated
from parley_gateway.application import messages, sessions
from parley_gateway.domain.idempotency import RequestKey
from parley_gateway.domain.ports import ReplyOutcome
from parley_gateway.domain.sessions import RuleViolation


class FakeWatch:
    def __init__(self, message_id: uuid.UUID, read: Any) -> None:
        self.message_id = message_id
        self.read = read
        self.start: ReplyOutcome | None = None

    def starts_from(self, outcome: ReplyOutcome) -> None:
        self.start = outcome

    async def updates(self, timeout_s: float) -> AsyncIterator[Any]:
        yield self.start or await self.read(self.message_id)


class FakeWatcher:
    """Records each watch: (message id, committed when opened, live, closed)."""

    def __init__(self, uow: Any) -> None:
        self.uow = uow
        self.watches: list[dict[str, Any]] = []

    @asynccontextmanager
    async def watch(
        self, message_id: uuid.UUID, session_id: uuid.UUID, read: Any, *, live: bool = False
    ) -> AsyncIterator[FakeWatch]:
        record = {
            "id": message_id,
            "committed_before": message_id in self.uow.messages.rows,
            "live": live,
            "closed": False,
        }
        self.watches.append(record)
        try:
            yield FakeWatch(message_id, read)
        finally:
            record["closed"] = True


async def _session(uow: Any, settings: Any) -> uuid.UUID:
    session, _ = await sessions.create_session(uow, settings, "alice", sessions.NewSession())
    return session.id


def _posted(uow: Any, watcher: FakeWatcher, sid: uuid.UUID, content: str, **kw: Any) -> Any:
    return messages.posted(uow, watcher, "alice", sid, content, max_chars=100, key_ttl_s=60, **kw)


async def test_the_watch_opens_before_the_commit_and_closes_after(uow: Any, settings: Any) -> None:
    sid, watcher = await _session(uow, settings), FakeWatcher(uow)
    async with _posted(uow, watcher, sid, "hi", live=True) as (message, created, watch):
        [record] = watcher.watches
        assert record == {
            "id": message.id,
            "committed_before": False,
            "live": True,
            "closed": False,
        }
        assert created and message.id in uow.messages.rows
        outcome = await messages.final_outcome(watch, 0)
    assert isinstance(outcome, ReplyOutcome) and outcome.message.id == message.id
    assert watcher.watches[0]["closed"]


@pytest.mark.parametrize("live", [True, False])
async def test_message_created_says_whether_its_poster_streams_the_reply(
    uow: Any, settings: Any, live: bool
) -> None:
    sid, watcher = await _session(uow, settings), FakeWatcher(uow)
    async with _posted(uow, watcher, sid, "hi", live=live):
        pass
    [created] = [e for e in uow.published if isinstance(e, MessageCreated)]
    assert created.live is live


async def test_a_new_message_is_watched_from_pending_without_a_read(
    uow: Any, settings: Any
) -> None:
    sid, watcher = await _session(uow, settings), FakeWatcher(uow)
    async with _posted(uow, watcher, sid, "hi") as (message, created, watch):
        assert created
        assert watch.start == ReplyOutcome(message, None) and not watch.start.settled


async def test_a_retry_watches_the_first_message(uow: Any, settings: Any) -> None:
    sid, watcher = await _session(uow, settings), FakeWatcher(uow)
    key = RequestKey("k", "fp")
    async with _posted(uow, watcher, sid, "hi", request_key=key) as (first, _, _):
        pass
    async with _posted(uow, watcher, sid, "hi", request_key=key) as (again, created, watch):
        assert not created and again.id == first.id and watch.message_id == first.id
        assert watch.start is None  # read: the first message may be answered by now
    assert [w["closed"] for w in watcher.watches] == [True, True, True]
    assert watcher.watches[-1]["id"] == first.id


async def test_a_refused_message_leaves_no_watch_open(uow: Any, settings: Any) -> None:
    sid, watcher = await _session(uow, settings), FakeWatcher(uow)
    with pytest.raises(RuleViolation):
        async with _posted(uow, watcher, sid, "   "):
            pass
    assert [w["closed"] for w in watcher.watches] == [True]
    assert not uow.messages.rows


def _rename_first(times: int) -> Any:
    """An interleave that, before each of the first ``times`` saves, saves the session as
    another request would (renamed, one version on)."""
    left = [times]

    def interleave(stored: Any) -> None:
        if left[0] > 0:
            left[0] -= 1
            stored.name, stored.version = f"renamed {left[0]}", stored.version + 1

    return interleave


async def test_a_message_is_posted_in_one_optimistic_unit_of_work(uow: Any, settings: Any) -> None:
    sid = await _session(uow, settings)
    before = uow.optimistic_units
    message, created = await messages.post_message(
        uow, "alice", sid, uuid.uuid4(), "hi", max_chars=100
    )
    assert created and message.seq == 1
    assert uow.optimistic_units == before + 1
    assert uow.sessions.rows[sid].version == 1 and uow.sessions.rows[sid].message_count == 1


async def test_a_session_saved_meanwhile_is_read_again_and_keeps_both_changes(
    uow: Any, settings: Any
) -> None:
    sid = await _session(uow, settings)
    uow.sessions.interleave = _rename_first(1)
    message, created = await messages.post_message(
        uow, "alice", sid, uuid.uuid4(), "hi", max_chars=100
    )
    stored = uow.sessions.rows[sid]
    assert created and message.seq == 1
    assert stored.name == "renamed 0" and stored.message_count == 1  # no lost update
    assert [e.seq for e in uow.published if isinstance(e, MessageCreated)] == [1]


async def test_a_session_saved_at_every_try_is_posted_to_under_its_lock(
    uow: Any, settings: Any
) -> None:
    sid = await _session(uow, settings)
    uow.sessions.interleave = _rename_first(messages.OPTIMISTIC_TRIES)
    before = uow.optimistic_units
    message, created = await messages.post_message(
        uow, "alice", sid, uuid.uuid4(), "hi", max_chars=100
    )
    assert created and message.seq == 1
    assert uow.optimistic_units == before + messages.OPTIMISTIC_TRIES
    assert len([e for e in uow.published if isinstance(e, MessageCreated)]) == 1


async def test_a_message_with_an_idempotency_key_is_posted_under_the_lock(
    uow: Any, settings: Any
) -> None:
    sid = await _session(uow, settings)
    before = uow.optimistic_units
    key = RequestKey("k-1", "fingerprint")
    await messages.post_message(
        uow, "alice", sid, uuid.uuid4(), "hi", max_chars=100, request_key=key, key_ttl_s=60
    )
    assert uow.optimistic_units == before


async def test_a_session_about_to_expire_is_posted_to_under_its_lock(
    uow: Any, settings: Any
) -> None:
    session, _ = await sessions.create_session(
        uow, settings, "alice", sessions.NewSession(idle_ttl_s=30)
    )
    before = uow.optimistic_units
    message, created = await messages.post_message(
        uow, "alice", session.id, uuid.uuid4(), "hi", max_chars=100
    )
    assert created and message.seq == 1
    assert uow.optimistic_units == before + 1  # read, found expiring, left without a write
    assert uow.sessions.rows[session.id].version == 1  # saved once, under the lock
