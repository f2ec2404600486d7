"""The outbox relay: publishes committed outbox rows to JetStream, then deletes them.

Each row is published with ``Nats-Msg-Id`` = its event id, so a row published twice (a crash
between the publish and the delete, or a change of leader) is de-duplicated by the stream.

The rows a service's own units of work write are handed to its relay once committed
(:meth:`OutboxRelay.handoff`) and published at once, in the order handed over; the relay
deletes them a little later, many in one statement. Rows nobody handed over (a unit of work
without a relay, which ``NOTIFY``s instead; a publish that failed; a process that stopped
before publishing) are published by the schema's leading relay: the one holding the schema's
session-level advisory lock on a connection it keeps. It LISTENs on ``<schema>_outbox`` there
and runs each round as one statement without a transaction, which deletes what was published
and reads the next rows, in the order written: at once when notified, else every ``poll_s``
seconds the rows older than ``grace_s`` (younger ones are being handed over). The other relays
try for the lock every ``poll_s`` seconds, so one takes over when the leader's connection ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg
import structlog
from nats.js import JetStreamContext

from .publishing import OutboxPublisher
from .statements import OutboxRow, outbox_channel

log = structlog.get_logger(__name__)

#: One leader's round: delete the rows published since the last round ($1), then read the
#: oldest $2 others written at least $3 seconds ago (the read's snapshot is taken before the
#: delete, hence the rows of $1 are left out of it).
ROUND_SQL = (
    "WITH published AS (DELETE FROM outbox WHERE id = ANY($1::bigint[]))"
    " SELECT id, event_id, event_type, subject, payload, trace_context FROM outbox"
    " WHERE NOT (id = ANY($1::bigint[])) AND created_at <= now() - make_interval(secs => $3)"
    " ORDER BY id LIMIT $2"
)
#: Deletes the rows published since the last round ($1), for a relay that does not lead.
DELETE_SQL = "DELETE FROM outbox WHERE id = ANY($1::bigint[])"


class OutboxRelay:
    """Moves outbox rows of ``schema`` to the stream ``stream`` through ``js`` (see the module).

    Rows published are deleted by a round within ``settle_s`` seconds (many at a time). A row
    whose payload is over ``max_payload`` bytes (the server's limit; None: no check) can never
    be published: the leader moves it to ``outbox_dead`` with the reason, so it does not hold
    up the others.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        *,
        schema: str,
        stream: str,
        poll_s: float = 1.0,
        settle_s: float = 0.5,
        grace_s: float = 2.0,
        batch: int = 100,
        max_payload: int | None = None,
    ) -> None:
        self._pool = pool
        self._out = OutboxPublisher(js, schema=schema, stream=stream, max_payload=max_payload)
        self._schema = schema
        self._poll_s = poll_s
        self._settle_s = settle_s
        self._grace_s = grace_s
        self._batch = batch
        self._lock_key = f"outbox:{schema}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None  # held while leading or trying to lead
        self._leading = False
        self._tried_at = -float("inf")  # when this relay last tried for the lead (monotonic)
        self._published: list[int] = []  # ids the next round deletes
        self._handed: list[OutboxRow] = []  # handed over, not yet published
        self._kick = asyncio.Event()
        self._publisher: asyncio.Task[None] | None = None
        self._notified = False  # a NOTIFY (or the start) asks for a round that reads every row
        self._delete_due: asyncio.TimerHandle | None = None

    @property
    def leading(self) -> bool:
        """Whether this relay holds its schema's relay lock."""
        return self._leading

    @property
    def running(self) -> bool:
        """Whether the relay runs (between :meth:`start` and :meth:`stop`)."""
        return self._task is not None

    async def start(self) -> None:
        """Start the relay's tasks (the first round tries to lead and drains what earlier runs
        left)."""
        self._on_notify()
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._schema}")
        self._publisher = asyncio.create_task(
            self._publish_handed(), name=f"outbox-handoff-{self._schema}"
        )

    async def stop(self) -> None:
        """Stop the relay's tasks and give up the lead and its connection (rows handed over
        and not yet published stay in the outbox for the next leader)."""
        for task in (self._publisher, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._publisher = None
        self._handed = []
        if self._delete_due is not None:
            self._delete_due.cancel()
            self._delete_due = None
        await self._let_go()

    def handoff(self, rows: list[OutboxRow]) -> None:
        """Publish ``rows``, just committed by a unit of work of this process, at once (in the
        order handed over); a round deletes them afterwards. Returns without waiting."""
        self._handed += rows
        self._kick.set()

    def _on_notify(self, *_: object) -> None:
        self._notified = True
        self._wake.set()

    def _published_now(self, ids: list[int]) -> None:
        """Note ``ids`` as published: a round deletes them within ``settle_s`` seconds."""
        self._published += ids
        if ids and self._delete_due is None and self._task is not None:
            self._delete_due = asyncio.get_running_loop().call_later(self._settle_s, self._wake.set)

    async def _publish_handed(self) -> None:
        while True:
            await self._kick.wait()
            self._kick.clear()
            while self._handed:
                rows, self._handed = self._handed, []
                rows = [r for r in rows if self._out.fits(r)]  # the leader sets the rest aside
                try:
                    await self._out.publish(rows)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning(
                        "events not published at once; the leading relay will retry them",
                        schema=self._schema, events=len(rows), error=repr(exc)[:300],
                    )  # fmt: skip
                    continue
                self._published_now([r.id for r in rows])

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: wait_for (3.11) can swallow a cancellation that
            # comes as the event is set, and stop() would wait for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_s):
                    await self._wake.wait()
            grace_s = 0.0 if self._notified else self._grace_s
            self._notified = False
            self._wake.clear()
            if self._delete_due is not None:
                self._delete_due.cancel()
                self._delete_due = None
            try:
                while await self.relay_once(grace_s=grace_s) == self._batch:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying", schema=self._schema)
                await self._let_go()  # its connection may be gone: the next round leads anew
                await asyncio.sleep(self._poll_s)

    async def _lead(self) -> asyncpg.Connection:
        """The held connection; tries for the lead (at most every ``poll_s`` seconds) when
        this relay does not hold it."""
        if self._conn is None:
            self._conn = await self._pool.acquire()
        if not self._leading and time.monotonic() - self._tried_at >= self._poll_s:
            self._tried_at = time.monotonic()
            if await self._conn.fetchval(
                "SELECT pg_try_advisory_lock(hashtext($1))", self._lock_key
            ):
                self._leading = True
                await self._conn.add_listener(outbox_channel(self._schema), self._on_notify)
                log.info("outbox relay leads", schema=self._schema)
        return self._conn

    async def _let_go(self) -> None:
        """Give up the lead: delete what was published, stop listening, unlock and hand the
        connection back to the pool; a connection on which any of that failed is closed
        instead (the server then drops its lock, and the next leader publishes undeleted
        rows again, for the stream to drop)."""
        conn, self._conn = self._conn, None
        leading, self._leading = self._leading, False
        published, self._published = self._published, []
        self._tried_at = -float("inf")
        if conn is None:
            return
        clean = False
        try:
            if published:
                await conn.execute(DELETE_SQL, published)
            if leading:
                await conn.remove_listener(outbox_channel(self._schema), self._on_notify)
                clean = bool(
                    await conn.fetchval("SELECT pg_advisory_unlock(hashtext($1))", self._lock_key)
                )
            else:
                clean = True
        except Exception as exc:
            log.warning("outbox relay connection closed", schema=self._schema, error=repr(exc))
        finally:
            with contextlib.suppress(Exception):  # a dead one is back in the pool already
                if not clean:
                    conn.terminate()
                await self._pool.release(conn)

    async def relay_once(self, *, grace_s: float = 0.0) -> int:
        """One round. A relay that leads deletes what was published since the last round and
        reads up to ``batch`` rows written at least ``grace_s`` seconds ago, in one statement,
        and publishes them (:class:`~parley_runtime.publishing.OutboxPublisher`); the next
        round deletes them. Returns how many rows it took (published, or set aside as too
        large). A relay that does not lead only deletes what it published and returns 0.

        If any publish fails, every row of the round stays for the next; the rows that did
        reach the stream are then dropped by its de-duplication (``Nats-Msg-Id``), so an event
        is never stored twice. In that case alone a retried event can land after a later one of
        its session, which consumers already allow for.

        Raises:
            nats.errors.Error: the stream did not acknowledge a publish (rows stay for a retry).
            asyncpg.PostgresError, OSError: the database failed (rows stay for a retry).
        """
        conn = await self._lead()
        published, self._published = self._published, []
        try:
            if not self._leading:
                if published:
                    await conn.execute(DELETE_SQL, published)
                return 0
            records = await conn.fetch(ROUND_SQL, published, self._batch, grace_s)
        except BaseException:
            self._published = published + self._published  # not deleted: the next round does
            raise
        if not records:
            return 0
        rows = [OutboxRow(**dict(record)) for record in records]
        kept = await self._out.set_aside_oversized(conn, rows)
        await self._out.publish(kept)  # on failure nothing is deleted: the next round retries
        self._published_now([row.id for row in rows])
        return len(rows)
