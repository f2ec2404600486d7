"""Reply notifications across gateway replicas, through PostgreSQL LISTEN/NOTIFY.

The consumer that stores a reply (or a failure) sends ``NOTIFY gateway_replies, '<user message id>'``
in the same transaction; every replica listens, and a request waiting for that reply wakes up
after the row is committed, whichever replica stored it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict

import asyncpg
import structlog

CHANNEL = "gateway_replies"

log = structlog.get_logger(__name__)


async def notify_reply(conn: asyncpg.Connection, user_message_id: uuid.UUID) -> None:
    """Announce, at commit, that the reply (or failure) of ``user_message_id`` is stored."""
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(user_message_id))


class ReplyWaiters:
    """Futures of requests waiting for replies, woken by the ``gateway_replies`` channel."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Future[None]]] = defaultdict(set)
        self._conn: asyncpg.Connection | None = None
        self._pool: asyncpg.Pool | None = None

    async def start(self, pool: asyncpg.Pool) -> None:
        """Hold one pooled connection that LISTENs on the channel."""
        self._pool = pool
        self._conn = await pool.acquire()
        await self._conn.add_listener(CHANNEL, self._on_notify)

    async def stop(self) -> None:
        """Stop listening and wake every waiter (they re-read the database)."""
        if self._conn is not None and self._pool is not None:
            with contextlib.suppress(Exception):
                await self._conn.remove_listener(CHANNEL, self._on_notify)
            await self._pool.release(self._conn)
            self._conn = None
        for futures in self._waiting.values():
            for fut in futures:
                if not fut.done():
                    fut.set_result(None)
        self._waiting.clear()

    def expect(self, user_message_id: uuid.UUID) -> asyncio.Future[None]:
        """A future done when the reply of ``user_message_id`` is announced.

        Call it before the message is committed, so no announcement can be missed; then
        :meth:`forget` it when done waiting.
        """
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[str(user_message_id)].add(fut)
        return fut

    def forget(self, user_message_id: uuid.UUID, fut: asyncio.Future[None]) -> None:
        """Drop a future from :meth:`expect`."""
        key = str(user_message_id)
        futures = self._waiting.get(key)
        if futures is not None:
            futures.discard(fut)
            if not futures:
                del self._waiting[key]
        if not fut.done():
            fut.cancel()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        for fut in self._waiting.pop(payload, set()):
            if not fut.done():
                fut.set_result(None)
