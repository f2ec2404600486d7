"""A neighbouring team's subscriber: its own durable JetStream consumer on ``session.named``.

It follows the contract in Parley's ``docs/asyncapi.yaml``: events are at least once (acts once
per ``event_id``), one session's events come in stream order, unknown fields are ignored, and an
event of a ``schema_version`` it does not know is left alone (acknowledged, not acted on).

Run it: ``NATS_URL=nats://127.0.0.1:4222 session-named-subscriber``.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from faststream import FastStream
from faststream.nats import ConsumerConfig, JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from parley_contracts import SessionNamed, Subjects

log = logging.getLogger("session_named_subscriber")

#: The ``schema_version`` of ``session.named`` this subscriber understands.
KNOWN_VERSION = 1

OnNamed = Callable[[SessionNamed], Awaitable[None]]


def parse_named(body: dict[str, Any]) -> SessionNamed | None:
    """The event, with fields this subscriber does not know dropped; None for another version."""
    if body.get("schema_version", 1) != KNOWN_VERSION:
        return None
    return SessionNamed.model_validate(
        {k: v for k, v in body.items() if k in SessionNamed.model_fields}
    )


async def _print_name(event: SessionNamed) -> None:
    log.info("session %s of %s is now called %r", event.session_id, event.user_id, event.name)


def build_subscriber(
    nats_url: str,
    on_named: OnNamed = _print_name,
    *,
    prefix: str = "parley",
    stream: str = "PARLEY",
    durable: str = "example-session-named",
) -> NatsBroker:
    """A broker whose durable pull consumer ``durable`` calls ``on_named`` once per event.

    The stream is Parley's (never declared here); the consumer is this subscriber's own, so it
    keeps its place across restarts and never takes events from Parley's services.
    """
    broker = NatsBroker(nats_url, max_reconnect_attempts=-1)
    seen: set[uuid.UUID] = set()  # a real subscriber keeps these with its own data

    @broker.subscriber(
        Subjects(prefix).filter("session.named"),
        stream=JStream(name=stream, declare=False),
        durable=durable,
        pull_sub=PullSub(batch_size=16, timeout=1.0),
        config=ConsumerConfig(ack_wait=30, max_deliver=10),
    )
    async def handle(body: dict[str, Any], msg: NatsMessage) -> None:
        event = parse_named(body)
        if event is None:
            log.warning("skipping session.named of schema_version %s", body.get("schema_version"))
        elif event.event_id not in seen:
            await on_named(event)
            seen.add(event.event_id)
        await msg.ack()

    return broker


def main() -> None:
    """Entrypoint: subscribe with ``NATS_URL``, ``PARLEY_PREFIX`` and ``PARLEY_STREAM``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    broker = build_subscriber(
        os.environ.get("NATS_URL", "nats://127.0.0.1:4222"),
        prefix=os.environ.get("PARLEY_PREFIX", "parley"),
        stream=os.environ.get("PARLEY_STREAM", "PARLEY"),
    )
    import asyncio

    asyncio.run(FastStream(broker).run())


if __name__ == "__main__":
    main()
