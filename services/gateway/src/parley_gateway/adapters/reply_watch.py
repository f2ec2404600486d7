"""Waiting for a reply: one async iterator merging its three sources.

* the ``gateway_replies`` notification (:class:`~.notifications.ReplyWaiters`), which normally
  wakes the wait as soon as the reply or failure is committed; when this replica stored it, the
  waiter is told the outcome itself, right after the commit, and reads nothing;
* the live deltas of the reply (core NATS ``<prefix>.live.reply.<session_id>``), when asked for;
* a re-read of the database every :data:`RECHECK_S`, which covers a notification lost with its
  connection.

Everything a watch holds (the waiter, the NATS subscription) is taken and released by context
managers, so nothing is left registered when a request ends, however it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from parley_contracts import ReplyDelta, Subjects
from pydantic import ValidationError

from ..domain.ports import OutcomeReader, ReplyOutcome
from .notifications import ReplyWaiters

#: How often a waiting request re-reads the database, in seconds.
RECHECK_S = 1.0
#: Deltas kept for a slow reader before newer ones are dropped (the stored reply is whole).
MAX_QUEUED_DELTAS = 10_000


class Watch:
    """The watch of one user message's reply (see :meth:`updates`)."""

    def __init__(
        self,
        message_id: uuid.UUID,
        read: OutcomeReader,
        notified: asyncio.Future[ReplyOutcome | None],
        deltas: asyncio.Queue[ReplyDelta] | None,
        closing: Callable[[], bool] = lambda: False,
    ) -> None:
        self.message_id = message_id
        self._read = read
        self._notified = notified
        self._deltas = deltas
        self._closing = closing
        self._start: ReplyOutcome | None = None

    def starts_from(self, outcome: ReplyOutcome) -> None:
        """Start :meth:`updates` from ``outcome`` instead of reading it (unless the reply was
        announced before :meth:`updates` started: then it reads, at once)."""
        self._start = outcome

    async def updates(self, timeout_s: float) -> AsyncIterator[ReplyDelta | ReplyOutcome]:
        """The reply's deltas as they come, then one :class:`ReplyOutcome`: settled, or as it
        stands after ``timeout_s`` seconds or once the gateway is shutting down (``closing``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        if self._start is not None and not self._notified.done():
            outcome = self._start
        else:  # unknown, or already announced: as told, or what is stored now
            outcome = await self._told_or_read()
        next_delta: asyncio.Future[ReplyDelta] | None = None
        try:
            while (
                not outcome.settled
                and not self._closing()
                and (remaining := deadline - loop.time()) > 0
            ):
                if self._deltas is not None and next_delta is None:
                    next_delta = asyncio.ensure_future(self._deltas.get())
                sources: set[asyncio.Future[object]] = set()
                if not self._notified.done():
                    sources.add(self._notified)  # type: ignore[arg-type]
                if next_delta is not None:
                    sources.add(next_delta)  # type: ignore[arg-type]
                done: set[asyncio.Future[object]] = set()
                if sources:
                    done, _ = await asyncio.wait(
                        sources, timeout=min(remaining, RECHECK_S), return_when="FIRST_COMPLETED"
                    )
                else:
                    await asyncio.sleep(min(remaining, RECHECK_S))
                if next_delta is not None and next_delta in done:
                    yield next_delta.result()
                    next_delta = None
                    continue
                outcome = await self._told_or_read()  # woken, or time to re-check
            if next_delta is not None and next_delta.done() and not next_delta.cancelled():
                yield next_delta.result()
                next_delta = None
            while self._deltas is not None and not self._deltas.empty():
                yield self._deltas.get_nowait()  # deltas that came before the reply was stored
            yield outcome
        finally:
            if next_delta is not None:
                next_delta.cancel()

    async def _told_or_read(self) -> ReplyOutcome:
        """The outcome this replica was told with the announcement, else the stored one."""
        if self._notified.done() and not self._notified.cancelled():
            told = self._notified.result()
            if told is not None:
                return told
        return await self._read(self.message_id)


class LiveDeltas:
    """The deltas of one reply, received from core NATS while the context is open."""

    def __init__(self, connection: NatsClient, subject: str, reply_to: uuid.UUID) -> None:
        self.queue: asyncio.Queue[ReplyDelta] = asyncio.Queue(MAX_QUEUED_DELTAS)
        self._connection = connection
        self._subject = subject
        self._reply_to = reply_to

    async def _on_delta(self, msg: Msg) -> None:
        with contextlib.suppress(asyncio.QueueFull, ValidationError):
            delta = ReplyDelta.model_validate_json(msg.data)
            if delta.reply_to == self._reply_to:
                self.queue.put_nowait(delta)

    @contextlib.asynccontextmanager
    async def receiving(self) -> AsyncIterator[asyncio.Queue[ReplyDelta]]:
        """Subscribe; unsubscribe at exit."""
        subscription = await self._connection.subscribe(self._subject, cb=self._on_delta)
        try:
            yield self.queue
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()


class NatsReplyWatcher:
    """Opens reply watches over this replica's reply waiters and the NATS connection."""

    def __init__(
        self, waiters: ReplyWaiters, connection: Callable[[], NatsClient], subjects: Subjects
    ) -> None:
        self._waiters = waiters
        self._connection = connection
        self._subjects = subjects

    @contextlib.asynccontextmanager
    async def watch(
        self,
        message_id: uuid.UUID,
        session_id: uuid.UUID,
        read: OutcomeReader,
        *,
        live: bool = False,
    ) -> AsyncIterator[Watch]:
        """A watch of ``message_id``'s reply; ``live`` also receives its deltas."""
        async with contextlib.AsyncExitStack() as stack:
            notified = stack.enter_context(self._waiters.waiting(message_id))
            deltas = None
            if live:
                subject = self._subjects.live_reply(session_id)
                source = LiveDeltas(self._connection(), subject, message_id)
                deltas = await stack.enter_async_context(source.receiving())
            yield Watch(message_id, read, notified, deltas, lambda: self._waiters.closed)
