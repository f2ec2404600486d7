"""The outbox relay: publishes committed outbox rows to JetStream, in order, then deletes them.

Each row is published with ``Nats-Msg-Id`` = its event id, so a row published twice (a crash
between the publish and the delete, or a change of leader) is de-duplicated by the stream.

One relay of a schema leads at a time: the one holding the schema's session-level advisory lock
on a connection it keeps. The leader LISTENs on the ``<schema>_outbox`` channel there and runs
each round as one statement on it, without a transaction: the statement deletes the rows the
previous round published and reads the next batch. The others try for the lock every
``poll_s`` seconds, so one takes over within that time when the leader's connection ends.
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

#: One round: delete the rows the last round published ($1), then read the oldest $2 others.
#: The read's snapshot is taken before the delete, hence the rows of $1 are left out of it.
ROUND_SQL = (
    "WITH published AS (DELETE FROM outbox WHERE id = ANY($1::bigint[]))"
    " SELECT id, event_id, event_type, subject, payload, trace_context, created_at FROM outbox"
    " WHERE NOT (id = ANY($1::bigint[])) ORDER BY id LIMIT $2"
)


def _headers(row: asyncpg.Record) -> dict[str, str]:
    """The NATS headers of an outbox row: its de-duplication id and its trace context."""
    headers = {"Nats-Msg-Id": str(row["event_id"])}
    if row["trace_context"]:
        headers.update(json.loads(row["trace_context"]))
    return headers


class OutboxRelay:
    """Moves outbox rows of ``schema`` to the stream ``stream`` through ``js``.

    Several replicas can run relays: the leader (see the module) publishes, in the order the
    rows were written. A round that published rows is followed by another within ``settle_s``
    seconds (sooner when more rows are notified), which deletes them; an idle relay polls every
    ``poll_s`` seconds as a safety net. A row whose payload is over ``max_payload`` bytes (the
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
        settle_s: float = 0.05,
        batch: int = 100,
        max_payload: int | None = None,
    ) -> None:
        self._pool = pool
        self._js = js
        self._schema = schema
        self._stream = stream
        self._poll_s = poll_s
        self._settle_s = settle_s
        self._batch = batch
        self._max_payload = max_payload
        self._lock_key = f"outbox:{schema}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None  # held while leading or trying to lead
        self._leading = False
        self._published: list[int] = []  # ids the next round deletes

    @property
    def leading(self) -> bool:
        """Whether this relay holds its schema's relay lock."""
        return self._leading

    async def start(self) -> None:
        """Start the relay task (which first tries to lead and drains what earlier runs left)."""
        self._wake.set()
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._schema}")

    async def stop(self) -> None:
        """Stop the relay task and give up the lead and its connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._let_go()

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            wait_s = self._settle_s if self._published else self._poll_s
            # asyncio.timeout, not wait_for: wait_for (3.11) can swallow a cancellation that
            # comes as the event is set, and stop() would wait for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self._wake.wait()
            self._wake.clear()
            try:
                while await self.relay_once() == self._batch:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying", schema=self._schema)
                await self._let_go()  # its connection may be gone: the next round leads anew
                await asyncio.sleep(self._poll_s)

    async def _lead(self) -> asyncpg.Connection | None:
        """The held connection if this relay leads (taking the lock if it is free), else None."""
        if self._conn is None:
            self._conn = await self._pool.acquire()
        if not self._leading:
            if not await self._conn.fetchval(
                "SELECT pg_try_advisory_lock(hashtext($1))", self._lock_key
            ):
                return None
            self._leading = True
            await self._conn.add_listener(outbox_channel(self._schema), self._on_notify)
            log.info("outbox relay leads", schema=self._schema)
        return self._conn

    async def _let_go(self) -> None:
        """Give up the lead: delete what was published, stop listening, unlock and hand the
        connection back to the pool (which closes it if it is broken; the server drops a dead
        session's locks itself, and the next leader publishes undeleted rows again, for the
        stream to drop)."""
        conn, self._conn = self._conn, None
        leading, self._leading = self._leading, False
        published, self._published = self._published, []
        if conn is None:
            return
        if leading:
            with contextlib.suppress(Exception):  # a broken connection fails the first of these
                await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", published)
                await conn.remove_listener(outbox_channel(self._schema), self._on_notify)
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", self._lock_key)
        with contextlib.suppress(Exception):
            await self._pool.release(conn)

    async def relay_once(self) -> int:
        """One round, if this relay leads: delete what the last round published and read up to
        ``batch`` rows, in one statement; publish them all at once (written to the connection in
        row order, so the stream stores them in that order; their PubAcks are awaited together);
        the next round deletes them. Returns how many rows it took (published, or set aside as
        too large); 0 when it does not lead.

        If any publish fails, every row of the round stays for the next; the rows that did
        reach the stream are then dropped by its de-duplication (``Nats-Msg-Id``), so an event
        is never stored twice. In that case alone a retried event can land after a later one of
        its session, which consumers already allow for.

        Raises:
            nats.errors.Error: the stream did not acknowledge a publish (rows stay for a retry).
            asyncpg.PostgresError, OSError: the database failed (rows stay for a retry).
        """
        conn = await self._lead()
        if conn is None:
            return 0
        published, self._published = self._published, []
        rows = await conn.fetch(ROUND_SQL, published, self._batch)
        if not rows:
            return 0
        kept = await self._set_aside_oversized(conn, rows)
        acks = await asyncio.gather(
            *(
                self._js.publish(
                    row["subject"], row["payload"], stream=self._stream, headers=_headers(row)
                )
                for row in kept
            ),
            return_exceptions=True,
        )
        failed = next((a for a in acks if isinstance(a, BaseException)), None)
        if failed is not None:
            raise failed  # nothing is deleted: the next round takes the rows again
        self._published = [row["id"] for row in rows]
        OUTBOX_PUBLISHED.labels(self._schema).inc(len(kept))
        return len(rows)

    async def _set_aside_oversized(
        self, conn: asyncpg.Connection, rows: list[asyncpg.Record]
    ) -> list[asyncpg.Record]:
        """Copy the rows over ``max_payload`` to ``outbox_dead`` (the round's delete removes
        them from the outbox with the published ones) and return the others, in order."""
        if self._max_payload is None:
            return rows
        limit = self._max_payload
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
        return [r for r in rows if len(r["payload"]) <= limit]
