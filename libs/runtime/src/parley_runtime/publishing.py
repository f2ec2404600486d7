"""Publishing outbox rows to the stream, for the outbox relay (:mod:`parley_runtime.outbox`):
in the order given, each with its de-duplication id and trace context, and setting aside a row
the server can never take."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import asyncpg
import structlog
from nats.js import JetStreamContext

from .metrics import OUTBOX_PUBLISHED, child
from .statements import OutboxRow

log = structlog.get_logger(__name__)


def _headers(row: OutboxRow) -> dict[str, str]:
    """The NATS headers of an outbox row: its de-duplication id and its trace context."""
    headers = {"Nats-Msg-Id": str(row.event_id)}
    if row.trace_context:
        headers.update(json.loads(row.trace_context))
    return headers


class OutboxPublisher:
    """Publishes outbox rows of ``schema`` to the stream ``stream`` through ``js``; a row whose
    payload is over ``max_payload`` bytes (the server's limit; None: no check) does not fit."""

    def __init__(
        self, js: JetStreamContext, *, schema: str, stream: str, max_payload: int | None
    ) -> None:
        self._js = js
        self._schema = schema
        self._stream = stream
        self._max_payload = max_payload

    def fits(self, row: OutboxRow) -> bool:
        """Whether the server can take ``row``."""
        return self._max_payload is None or len(row.payload) <= self._max_payload

    async def publish(self, rows: Sequence[OutboxRow]) -> None:
        """Publish ``rows`` all at once (written to the connection in order, so the stream
        stores them in that order; their PubAcks awaited together), each with
        ``Nats-Msg-Id`` = its event id, so the stream drops one published twice.

        Raises:
            nats.errors.Error: the stream did not acknowledge one of them.
        """
        acks = await asyncio.gather(
            *(
                self._js.publish(
                    row.subject, row.payload, stream=self._stream, headers=_headers(row)
                )
                for row in rows
            ),
            return_exceptions=True,
        )
        failed = next((a for a in acks if isinstance(a, BaseException)), None)
        if failed is not None:
            raise failed
        child(OUTBOX_PUBLISHED, self._schema).inc(len(rows))

    async def set_aside_oversized(
        self, conn: asyncpg.Connection, rows: list[OutboxRow]
    ) -> list[OutboxRow]:
        """Copy the rows that do not fit to ``outbox_dead``, with the reason (the relay's next
        round deletes them from the outbox with the published ones), and return the others,
        in order."""
        for row in rows:
            if self.fits(row):
                continue
            reason = f"payload of {len(row.payload)} bytes is over the server's {self._max_payload}"
            await conn.execute(
                "INSERT INTO outbox_dead (id, event_id, event_type, subject, payload,"
                " trace_context, created_at, reason) SELECT id, event_id, event_type, subject,"
                " payload, trace_context, created_at, $2 FROM outbox WHERE id = $1"
                " ON CONFLICT (id) DO NOTHING",
                row.id,
                reason,
            )
            log.error(
                "outbox row set aside", schema=self._schema, event_id=str(row.event_id),
                event_type=row.event_type, reason=reason,
            )  # fmt: skip
        return [r for r in rows if self.fits(r)]
