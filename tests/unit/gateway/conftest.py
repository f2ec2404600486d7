"""Fakes of the gateway's ports for unit tests (after cosmicpython's ``FakeUnitOfWork``): an
in-memory unit of work whose repositories keep copies, so only what a use case saves is kept,
and whose events and announcements count only when the unit of work commits."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from parley_contracts import Event, SessionChange
from parley_gateway.domain.idempotency import EarlierUse
from parley_gateway.domain.messages import Message
from parley_gateway.domain.ports import ConcurrentUpdate
from parley_gateway.domain.sessions import Session
from parley_gateway.settings import GatewaySettings


class FakeSessions:
    """Sessions saved over the version they were read at, as the store does; ``interleave``
    runs just before each save (say, another request saving the session first)."""

    def __init__(self, messages: FakeMessages) -> None:
        self.rows: dict[uuid.UUID, Session] = {}
        self.messages = messages
        self.interleave: Callable[[Session], None] | None = None

    async def get(
        self, session_id: uuid.UUID, user_id: str | None = None, *, for_update: bool = False
    ) -> Session | None:
        found = self.rows.get(session_id)
        if found is None or (user_id is not None and found.user_id != user_id):
            return None
        return copy.deepcopy(found)

    async def get_with_reply(
        self, session_id: uuid.UUID, message_id: uuid.UUID
    ) -> tuple[Session | None, Message | None, Message | None]:
        session = await self.get(session_id)
        if session is None:
            return None, None, None
        asked, reply = await self.messages.with_reply(message_id)
        if asked is not None and asked.session_id != session_id:
            asked = None
        if reply is not None and reply.session_id != session_id:
            reply = None
        return session, asked, reply

    async def add(self, session: Session) -> None:
        assert session.id not in self.rows
        self.rows[session.id] = copy.deepcopy(session)

    async def save(self, session: Session, messages: Any = ()) -> None:
        assert session.id in self.rows
        assert all(m.session_id == session.id for m in messages)
        if self.interleave is not None:
            self.interleave(self.rows[session.id])
        if self.rows[session.id].version != session.version:
            raise ConcurrentUpdate("the session changed since it was read")
        session.version += 1
        self.rows[session.id] = copy.deepcopy(session)
        for message in messages:  # a new one was appended: it has its seq
            assert message.id in self.messages.rows or message.seq > 0
            await self.messages.save(message)

    async def delete(self, session_id: uuid.UUID) -> None:
        self.rows.pop(session_id, None)

    async def idle_past(self, now: datetime, limit: int) -> list[Session]:
        idle = [s for s in self.rows.values() if s.expires_at and s.expires_at <= now]
        return copy.deepcopy(sorted(idle, key=lambda s: s.expires_at or now)[:limit])

    async def page(self, user_id: str, *, limit: int, after: Any, include_archived: bool,
                   query: str | None) -> list[Session]:  # fmt: skip
        found = sorted(
            (s for s in self.rows.values() if s.user_id == user_id),
            key=lambda s: (s.activity_at, s.id),
            reverse=True,
        )
        found = [s for s in found if include_archived or not s.is_archived]
        found = [s for s in found if not query or query.lower() in s.name.lower()]
        found = [s for s in found if after is None or (s.activity_at, s.id) < after]
        return copy.deepcopy(found[:limit])


class FakeMessages:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Message] = {}

    async def get(self, message_id: uuid.UUID) -> Message | None:
        return copy.deepcopy(self.rows.get(message_id))

    async def with_reply(self, message_id: uuid.UUID) -> tuple[Message | None, Message | None]:
        reply = next(
            (m for m in self.rows.values() if m.reply_to == message_id and m.role == "assistant"),
            None,
        )
        return copy.deepcopy(self.rows.get(message_id)), copy.deepcopy(reply)

    async def save(self, message: Message) -> None:
        self.rows[message.id] = copy.deepcopy(message)


    async def page(self, session_id: uuid.UUID, *, after_seq: int = 0,
                   limit: int | None = None) -> list[Message]:  # fmt: skip
        found = sorted(
            (m for m in self.rows.values() if m.session_id == session_id and m.seq > after_seq),
            key=lambda m: m.seq,
        )
        return copy.deepcopy(found[:limit])

    async def pending_older_than(self, age_s: float, limit: int) -> list[Message]:
        cutoff = datetime.now(UTC) - timedelta(seconds=age_s)
        return copy.deepcopy(
            [m for m in self.rows.values()
             if m.role == "user" and m.status == "pending" and m.created_at < cutoff][:limit]
        )  # fmt: skip


class FakeIdempotencyKeys:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], EarlierUse] = {}

    async def claim(self, user_id: str, key: str, resource: str, resource_id: uuid.UUID,
                    fingerprint: str, ttl_s: float) -> EarlierUse | None:  # fmt: skip
        earlier = self.rows.setdefault(
            (user_id, key), EarlierUse(resource, resource_id, fingerprint)
        )
        return None if earlier.resource_id == resource_id else earlier

    async def prune(self, ttl_s: float) -> int:
        return 0


class FakeUnitOfWork:
    """Call it to open a unit of work (it is its own factory); state rolls back on an error."""

    def __init__(self) -> None:
        self.messages = FakeMessages()
        self.sessions = FakeSessions(self.messages)
        self.idempotency_keys = FakeIdempotencyKeys()
        self.published: list[Event] = []
        self.announced: list[SessionChange] = []
        self.replies_announced: list[uuid.UUID] = []
        self.replies_told: dict[uuid.UUID, Any] = {}  # the outcomes announced with a reply
        self.commits = 0
        self.optimistic_units = 0
        self._staged: tuple[list[Event], list[SessionChange], list[uuid.UUID]] = ([], [], [])
        self._told: dict[uuid.UUID, Any] = {}

    async def publish(self, event: Event) -> None:
        self._staged[0].append(event)

    async def announce(self, change: SessionChange) -> None:
        self._staged[1].append(change)

    async def announce_reply(self, user_message_id: uuid.UUID, outcome: Any = None) -> None:
        self._staged[2].append(user_message_id)
        if outcome is not None:
            self._told[user_message_id] = copy.deepcopy(outcome)

    @asynccontextmanager
    async def __call__(self, *, optimistic: bool = False) -> AsyncIterator[FakeUnitOfWork]:
        self.optimistic_units += optimistic
        saved = copy.deepcopy((self.sessions.rows, self.messages.rows, self.idempotency_keys.rows))
        self._staged, self._told = ([], [], []), {}
        try:
            yield self
        except ConcurrentUpdate:
            raise  # the refused save wrote nothing; what another request saved stays
        except BaseException:
            self.sessions.rows, self.messages.rows, self.idempotency_keys.rows = saved
            raise
        self.published += self._staged[0]
        self.announced += self._staged[1]
        self.replies_announced += self._staged[2]
        self.replies_told.update(self._told)
        self.commits += 1


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def settings() -> GatewaySettings:
    return GatewaySettings(jwt_secret="unit-test-secret-0123456789-abcdef")
