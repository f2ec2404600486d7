"""The outbox relay: publishes committed outbox rows to JetStream, in order, then deletes them.

Each row is published with ``Nats-Msg-Id`` = its event id, so a row published twice (a crash
between the publish and the delete) is de-duplicated by the stream. The relay wakes on the
``<schema>_outbox`` NOTIFY and polls every ``poll_s`` seconds as a safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import asyncpg
import structlog
from nats.js import JetStreamContext

from .metrics import OUTBOX_PUBLISHED
from .uow import outbox_channel

log = structlog.get_logger(__name__)


def _headers(row: asyncpg.Record) -> dict[str, str]:
    """The NATS headers of an outbox row: its de-duplication id and its trace context."""
    headers = {"Nats-Msg-Id": str(row["event_id"])}
    if row["trace_context"]:
        headers.update(json.loads(row["trace_context"]))
    return headers


class OutboxRelay:
    """Moves outbox rows of ``schema`` to the stream ``stream`` through ``js``.

    Several replicas can run relays: one at a time holds the schema's advisory lock and publishes,
    in the order the rows were written. A row whose payload is over ``max_payload`` bytes (the
    server's limit; None: no check) can never be published: it moves to ``outbox_dead`` with the
    reason, so it does not hold up the events after it.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        *,
        schema: str,
        stream: str,
        poll_s: float = 1.0,
        batch: int = 100,
        max_payload: int | None = None,
    ) -> None:
        self._pool = pool
        self._js = js
        self._schema = schema
        self._stream = stream
        self._poll_s = poll_s
        self._batch = batch
        self._max_payload = max_payload
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None

    async def start(self) -> None:
        """LISTEN for outbox notifications and start the relay task."""
        self._listener = await self._pool.acquire()
        await self._listener.add_listener(outbox_channel(self._schema), self._on_notify)
        self._wake.set()  # drain what earlier runs left behind
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._schema}")

    async def stop(self) -> None:
        """Stop the relay task and release its listening connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.remove_listener(outbox_channel(self._schema), self._on_notify)
            await self._pool.release(self._listener)
            self._listener = None

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: wait_for (3.11) can swallow a cancellation that
            # comes as the event is set, and stop() would wait for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_s):
                    await self._wake.wait()
            self._wake.clear()
            try:
                while await self.relay_once() == self._batch:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying", schema=self._schema)
                await asyncio.sleep(self._poll_s)

    async def relay_once(self) -> int:
        """Publish up to one batch of rows; returns how many rows it took (published, or set
        aside as too large).

        One transaction: take the schema's relay lock and delete the oldest ``batch`` rows in
        one statement, publish them all at once (written to the connection in row order, so
        the stream stores them in that order; their PubAcks are awaited together), then commit.
        If any publish fails, the transaction rolls back and every row stays for the next
        round; the rows that did reach the stream are then dropped by its de-duplication
        (``Nats-Msg-Id``), so an event is never stored twice. In that case alone a retried
        event can land after a later one of its session, which consumers already allow for.

        Raises:
            nats.errors.Error: the stream did not acknowledge a publish (rows stay for a retry).
        """
        async with self._pool.acquire() as conn, conn.transaction():
            # One relay of a schema at a time, so events leave in the order they were written.
            rows = await conn.fetch(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
                " WHERE pg_try_advisory_xact_lock(hashtext($1)) ORDER BY id LIMIT $2)"
                " RETURNING id, event_id, event_type, subject, payload, trace_context, created_at",
                f"outbox:{self._schema}",
                self._batch,
            )
            if not rows:
                return 0
            taken = len(rows)
            rows = await self._set_aside_oversized(conn, sorted(rows, key=lambda r: r["id"]))
            acks = await asyncio.gather(
                *(
                    self._js.publish(
                        row["subject"],
                        row["payload"],
                        stream=self._stream,
                        headers=_headers(row),
                    )
                    for row in rows
                ),
                return_exceptions=True,
            )
            failed = next((a for a in acks if isinstance(a, BaseException)), None)
            if failed is not None:
                raise failed  # rolls the deletes back
        OUTBOX_PUBLISHED.labels(self._schema).inc(len(rows))
        return taken

    async def _set_aside_oversized(
        self, conn: asyncpg.Connection, rows: list[asyncpg.Record]
    ) -> list[asyncpg.Record]:
        """Move the rows over ``max_payload`` to ``outbox_dead`` (in the caller's transaction)
        and return the others, in order."""
        if self._max_payload is None:
            return rows
        limit = self._max_payload
        kept = [r for r in rows if len(r["payload"]) <= limit]
        for row in rows:
            if len(row["payload"]) <= limit:
                continue
            reason = f"payload of {len(row['payload'])} bytes is over the server's {limit}"
            await conn.execute(
                "INSERT INTO outbox_dead (id, event_id, event_type, subject, payload,"
                " trace_context, created_at, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " ON CONFLICT (id) DO NOTHING",
                *(row["id"], row["event_id"], row["event_type"], row["subject"]),
                *(row["payload"], row["trace_context"], row["created_at"], reason),
            )
            log.error(
                "outbox row set aside", schema=self._schema, event_id=str(row["event_id"]),
                event_type=row["event_type"], reason=reason,
            )  # fmt: skip
        return kept
