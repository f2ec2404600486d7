"""Ports of the gateway: what the application needs from storage, notifications and the bus,
as small Protocols. PostgreSQL and NATS adapters implement them; unit tests use fakes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from parley_contracts import (
    Event,
    NamingAnalytics,
    NamingAnalyticsQuery,
    NamingAnswer,
    NamingRequest,
    ReplyDelta,
    SessionChange,
    TracePage,
    TraceQuery,
)

from .idempotency import EarlierUse
from .messages import Message
from .sessions import Session

#: A keyset position in a list ordered newest first: ``(time, id)``.
Keyset = tuple[datetime, uuid.UUID]


class SessionRepository(Protocol):
    """Loads and saves sessions."""

    async def get(
        self, session_id: uuid.UUID, user_id: str | None = None, *, for_update: bool = False
    ) -> Session | None:
        """The session (of ``user_id`` when given), locked for the transaction if asked."""
        ...

    async def get_with_reply(
        self, session_id: uuid.UUID, message_id: uuid.UUID
    ) -> tuple[Session | None, Message | None, Message | None]:
        """``(session, its message message_id, the assistant message answering it)``, the
        session locked for the transaction, read together; None for what does not exist (both
        messages are None when the session is). A store may start from copies it kept of what
        it committed instead (see the adapter): then :meth:`save` of the reply is refused
        when one is stored already."""
        ...

    async def add(self, session: Session) -> None:
        """Store a new session."""
        ...

    async def save(self, session: Session, messages: Sequence[Message] = ()) -> None:
        """Store a loaded session's changes and, with them, ``messages`` of the session it
        appended or changed (a new one is added, a loaded one keeps its status and error)."""
        ...

    async def delete(self, session_id: uuid.UUID) -> None:
        """Remove a session and its messages."""
        ...

    async def idle_past(self, now: datetime, limit: int) -> list[Session]:
        """Up to ``limit`` sessions whose ``expires_at`` is at or before ``now``, oldest expiry
        first, locked for the transaction."""
        ...

    async def page(
        self,
        user_id: str,
        *,
        limit: int,
        after: Keyset | None,
        include_archived: bool,
        query: str | None,
    ) -> list[Session]:
        """The user's sessions, newest activity first, after ``after``, names matching
        ``query`` (case-insensitive substring), at most ``limit``."""
        ...


class MessageRepository(Protocol):
    """Loads and saves messages."""

    async def get(self, message_id: uuid.UUID) -> Message | None:
        """One message by id."""
        ...

    async def with_reply(self, message_id: uuid.UUID) -> tuple[Message | None, Message | None]:
        """``(message, the assistant message answering it)``, read together (one snapshot:
        a message read with its reply is never still pending); None for what does not exist."""
        ...

    async def save(self, message: Message) -> None:
        """Store a loaded message's status and error."""
        ...


    async def page(
        self, session_id: uuid.UUID, *, after_seq: int = 0, limit: int | None = None
    ) -> list[Message]:
        """A session's messages in ``seq`` order after ``after_seq``, at most ``limit``."""
        ...

    async def pending_older_than(self, age_s: float, limit: int) -> list[Message]:
        """Up to ``limit`` user messages still pending after ``age_s`` seconds, locked."""
        ...


class IdempotencyKeyRepository(Protocol):
    """Remembers which request an ``Idempotency-Key`` named."""

    async def claim(
        self,
        user_id: str,
        key: str,
        resource: str,
        resource_id: uuid.UUID,
        fingerprint: str,
        ttl_s: float,
    ) -> EarlierUse | None:
        """Claim ``key`` for a new resource; the earlier use if it was used within ``ttl_s``."""
        ...

    async def prune(self, ttl_s: float) -> int:
        """Forget keys older than ``ttl_s`` seconds; returns how many."""
        ...


class UnitOfWork(Protocol):
    """One transaction: repositories, events for the outbox and announcements, all committed
    together when the context exits cleanly (rolled back on an exception)."""

    sessions: SessionRepository
    messages: MessageRepository
    idempotency_keys: IdempotencyKeyRepository

    async def publish(self, event: Event) -> None:
        """Put ``event`` in the outbox."""
        ...

    async def announce(self, change: SessionChange) -> None:
        """Tell the user's event streams about ``change`` (at commit)."""
        ...

    async def announce_reply(
        self, user_message_id: uuid.UUID, outcome: ReplyOutcome | None = None
    ) -> None:
        """Wake the requests waiting for the reply of ``user_message_id`` (at commit), with
        its settled ``outcome`` when known (so they need not read it)."""
        ...


class ConcurrentUpdate(RuntimeError):
    """A session read without its lock was saved by someone else before this unit of work
    wrote it (optimistic concurrency): nothing was written; read it again and decide again."""


class UnitOfWorkFactory(Protocol):
    """Opens a unit of work: ``async with uow_factory() as uow: ...``."""

    def __call__(self, *, optimistic: bool = False) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work; ``optimistic``: its reads take no lock and it holds no transaction,
        and its one save is refused with :class:`ConcurrentUpdate` (raised when the unit of
        work ends) if the session changed since it was read. Only for a use case whose one
        write is the save of a session (with its messages) or the addition of one."""
        ...


@dataclass(frozen=True)
class ReplyOutcome:
    """Where a user message stands: the message and, once stored, its reply."""

    message: Message
    reply: Message | None

    @property
    def settled(self) -> bool:
        """Whether the message is answered (reply stored) or failed."""
        return self.reply is not None or self.message.status == "failed"


#: Reads where a user message stands now.
OutcomeReader = Callable[[uuid.UUID], Awaitable[ReplyOutcome]]


class ReplyWatch(Protocol):
    """The watch of one user message's reply, open before the message is committed so no
    announcement is missed."""

    def updates(self, timeout_s: float) -> AsyncIterator[ReplyDelta | ReplyOutcome]:
        """The reply's live deltas (when asked for), then one final :class:`ReplyOutcome`:
        settled, or as it stands after ``timeout_s`` seconds."""
        ...

    def starts_from(self, outcome: ReplyOutcome) -> None:
        """Where the message stands when :meth:`updates` starts, when the caller knows it (a
        message it just stored: pending, no reply), saving the first read."""
        ...


class ReplyWatcher(Protocol):
    """Opens reply watches."""

    def watch(
        self,
        message_id: uuid.UUID,
        session_id: uuid.UUID,
        read: OutcomeReader,
        *,
        live: bool = False,
    ) -> AbstractAsyncContextManager[ReplyWatch]:
        """A watch of ``message_id``'s reply; ``live`` also receives its deltas."""
        ...


class OwnerUnavailable(RuntimeError):
    """The service that owns the data asked for did not answer in time."""


class StorageUnavailable(RuntimeError):
    """The database did not answer in time or is unreachable (a unit of work raises it);
    trying again later may succeed."""


class TraceSource(Protocol):
    """Asks the tagger, which owns the LLM traces, for a page of them."""

    async def page(self, query: TraceQuery) -> TracePage:
        """One page of traces.

        Raises:
            OwnerUnavailable: the owner did not answer in time.
        """
        ...


class NamingSource(Protocol):
    """Asks the namer, which owns naming, for names and for naming analytics."""

    async def names(self, request: NamingRequest) -> NamingAnswer:
        """Suggestions or a regenerated name for a conversation.

        Raises:
            OwnerUnavailable: the namer did not answer in time.
        """
        ...

    async def analytics(self, query: NamingAnalyticsQuery) -> NamingAnalytics:
        """The naming analytics of a user's sessions.

        Raises:
            OwnerUnavailable: the namer did not answer in time.
        """
        ...


#: One event of a ``GET /api/events`` stream: the SSE event name and its data.
FeedEvent = tuple[str, dict[str, object]]


class SessionEvents(Protocol):
    """The session changes of this replica's users, as they are announced."""

    def subscription(self, user_id: str) -> AbstractContextManager[asyncio.Queue[FeedEvent]]:
        """A queue receiving the user's session events while the context is open."""
        ...
