"""Notifications across gateway replicas, through PostgreSQL LISTEN/NOTIFY.

* Replies: the consumer that stores a reply (or a failure) sends
  ``NOTIFY gateway_replies, '<user message id>'`` in the same transaction; a request waiting for
  that reply wakes up after the row is committed, whichever replica stored it. When the storing
  replica tells its own waiters the outcome after the commit, the payload also names that
  replica (``'<user message id> <replica>'``) and the replica passes over its own notification,
  which would otherwise often come first and make its waiters read what they are about to be told.
* Session changes: ``NOTIFY gateway_session_events, '<json>'`` (created, updated, named, tagged,
  deleted), fanned out to the ``GET /api/events`` streams of the session's user on every replica.

Both are sent inside the transaction of the change, so they are delivered only if it commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Iterator

import asyncpg
import structlog
from parley_contracts import SessionChange
from pydantic import ValidationError

from ..domain.ports import FeedEvent, ReplyOutcome

REPLY_CHANNEL = "gateway_replies"
SESSION_CHANNEL = "gateway_session_events"

log = structlog.get_logger(__name__)


class ReplyWaiters:
    """Futures of requests waiting for replies, woken by the ``gateway_replies`` channel (the
    waiter then reads where its message stands: the future's result is None), or told the
    outcome directly when this replica stored it (:meth:`settle`)."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Future[ReplyOutcome | None]]] = defaultdict(set)
        self.closed = False
        self.replica = uuid.uuid4().hex  # names this replica in its own announcements

    def announcement(self, user_message_id: uuid.UUID) -> str:
        """The ``gateway_replies`` payload announcing ``user_message_id``'s outcome when this
        replica tells its waiters the outcome itself (:meth:`settle`, after the commit): it
        names the replica, whose :meth:`on_notify` passes over it. (Announced by anyone else,
        the payload is the user message id alone.)"""
        return f"{user_message_id} {self.replica}"

    def close(self) -> None:
        """The gateway is shutting down: wake every waiter and answer every wait, now and
        later, with the message as it stands (a reply stored later is still read normally)."""
        self.closed = True
        self.wake_all()

    def wake_all(self) -> None:
        """Wake every waiter (at shutdown: they re-read the database)."""
        for key in list(self._waiting):
            self._wake(key, None)

    @contextlib.contextmanager
    def waiting(self, user_message_id: uuid.UUID) -> Iterator[asyncio.Future[ReplyOutcome | None]]:
        """A future done when the reply of ``user_message_id`` is announced (its result is the
        outcome when it is known, else None), for as long as the context is open. Enter it
        before the message is committed, so no announcement can be missed."""
        key = str(user_message_id)
        fut: asyncio.Future[ReplyOutcome | None] = asyncio.get_running_loop().create_future()
        self._waiting[key].add(fut)
        try:
            yield fut
        finally:
            futures = self._waiting.get(key)
            if futures is not None:
                futures.discard(fut)
                if not futures:
                    del self._waiting[key]
            if not fut.done():
                fut.cancel()

    def on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        """asyncpg listener: wake the waiters of the announced user message (they read it),
        unless this replica announced it and tells them (see :meth:`announcement`)."""
        key, _, replica = payload.partition(" ")
        if replica != self.replica:
            self._wake(key, None)

    def settle(self, user_message_id: uuid.UUID, outcome: ReplyOutcome) -> None:
        """Tell this replica's waiters of ``user_message_id`` its committed ``outcome``, so they
        need not read it (their notification, when it comes, finds them gone)."""
        self._wake(str(user_message_id), outcome)

    def _wake(self, key: str, outcome: ReplyOutcome | None) -> None:
        for fut in self._waiting.pop(key, set()):
            if not fut.done():
                fut.set_result(outcome)


RESYNC: FeedEvent = ("resync", {})


class SessionFeed:
    """The ``GET /api/events`` subscribers of this replica, by user.

    Each subscriber has a bounded queue (``max_queued`` events); when a subscriber is too slow to
    keep up, what it had queued is dropped for one ``resync`` event: it should re-read its
    sessions.
    """

    def __init__(self, max_queued: int = 1000) -> None:
        self._queues: dict[str, set[asyncio.Queue[FeedEvent]]] = defaultdict(set)
        self._max_queued = max_queued

    @contextlib.contextmanager
    def subscription(self, user_id: str) -> Iterator[asyncio.Queue[FeedEvent]]:
        """A queue receiving the user's session events while the context is open."""
        queue: asyncio.Queue[FeedEvent] = asyncio.Queue(self._max_queued)
        self._queues[user_id].add(queue)
        try:
            yield queue
        finally:
            queues = self._queues.get(user_id)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._queues[user_id]

    def dispatch(self, payload: str) -> None:
        """Hand one NOTIFY payload (a :class:`SessionChange`) to the queues of its user.

        Raises:
            pydantic.ValidationError: the payload is not a session change.
        """
        change = SessionChange.model_validate_json(payload)
        for queue in self._queues.get(change.user_id, ()):
            self._put(queue, (change.event, change.for_client()))

    def broadcast(self, event: FeedEvent) -> None:
        """Hand ``event`` to every subscriber (e.g. ``resync`` after a lost connection)."""
        for queues in self._queues.values():
            for queue in queues:
                self._put(queue, event)

    @staticmethod
    def _put(queue: asyncio.Queue[FeedEvent], event: FeedEvent) -> None:
        try:
            queue.put_nowait(event)
        except asyncio.QueueFull:
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(RESYNC)


class GatewayNotifications:
    """One pooled connection LISTENing on both channels, feeding the reply waiters and the
    session feed of this replica. If the connection is lost, it is replaced (retrying every
    second); event streams then get ``resync``, as notifications may have been missed."""

    def __init__(self) -> None:
        self.waiters = ReplyWaiters()
        self.feed = SessionFeed()
        self._conn: asyncpg.Connection | None = None
        self._pool: asyncpg.Pool | None = None
        self._reconnect: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def listening(self) -> bool:
        """Whether the LISTEN connection is up (part of the gateway's readiness)."""
        return self._conn is not None and not self._conn.is_closed()

    async def start(self, pool: asyncpg.Pool) -> None:
        """Acquire the listening connection and LISTEN."""
        self._pool = pool
        self._stopping = False
        await self._listen()

    async def _listen(self) -> None:
        assert self._pool is not None
        conn = await self._pool.acquire()
        try:
            await conn.add_listener(REPLY_CHANNEL, self.waiters.on_notify)
            await conn.add_listener(SESSION_CHANNEL, self._on_session_event)
        except BaseException:
            await self._pool.release(conn)
            raise
        conn.add_termination_listener(self._on_lost)
        self._conn = conn

    def _on_lost(self, conn: asyncpg.Connection) -> None:
        if self._stopping or conn is not self._conn:
            return
        log.warning("notification connection lost; listening again")
        self._reconnect = asyncio.create_task(self._listen_again(conn))

    async def _listen_again(self, lost: asyncpg.Connection) -> None:
        assert self._pool is not None
        with contextlib.suppress(Exception):
            await self._pool.release(lost)
        self._conn = None
        while not self._stopping:
            try:
                await self._listen()
            except Exception:
                log.warning("listening again failed; retrying in 1 s", exc_info=True)
                await asyncio.sleep(1.0)
            else:
                self.feed.broadcast(RESYNC)
                return

    async def stop(self) -> None:
        """Stop listening, release the connection and wake every waiter."""
        self._stopping = True
        if self._reconnect is not None:
            self._reconnect.cancel()
            with contextlib.suppress(BaseException):
                await self._reconnect
        if self._conn is not None and self._pool is not None:
            with contextlib.suppress(Exception):
                await self._conn.remove_listener(REPLY_CHANNEL, self.waiters.on_notify)
                await self._conn.remove_listener(SESSION_CHANNEL, self._on_session_event)
            await self._pool.release(self._conn)
            self._conn = None
        self.waiters.wake_all()

    def _on_session_event(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            self.feed.dispatch(payload)
        except ValidationError:
            log.warning("session event notification ignored", payload=payload[:200])
