"""The bus: the FastStream NATS broker and the stream, plus the names services use to declare
their consumers (re-exported from :mod:`parley_runtime.handlers` and
:mod:`parley_runtime.consumer`).

Where a delivery goes: :class:`~parley_runtime.consumer.EventConsumer` pulls and orders it,
:class:`~parley_runtime.settlement.Settler` handles and settles it, and the pure
:func:`~parley_runtime.delivery.next_step` decides ack, nak or dead letter.
"""

from __future__ import annotations

import logging

import structlog
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from parley_contracts import StreamSpec

from .consumer import EventConsumer
from .handlers import (
    ConsumerSpec,
    EventHandler,
    GiveUpHook,
    HandlerContext,
    Handlers,
    RetryLater,
    Unprocessable,
    event_type_of,
)
from .settings import RuntimeSettings
from .uow import UnitOfWork

log = structlog.get_logger(__name__)


def create_broker(settings: RuntimeSettings, name: str) -> NatsBroker:
    """A FastStream NATS broker for ``settings.nats_url``.

    FastStream's per-message lines are logged at DEBUG, so at the usual INFO level they cost
    nothing on the hot path.
    """
    return NatsBroker(
        settings.nats_url,
        name=f"parley-{name}",
        log_level=logging.DEBUG,
        graceful_timeout=15.0,
        max_reconnect_attempts=-1,
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec) -> None:
    """Create the stream of ``spec``, or update it to ``spec`` if it exists (limits retention,
    file storage, de-duplication window, replicas)."""
    config = StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        duplicate_window=spec.duplicate_window_s,
        max_age=spec.max_age_s,
        num_replicas=spec.replicas,
    )
    try:
        await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(config)
        log.info("stream created", stream=spec.name, subjects=list(spec.subjects))
    else:
        await js.update_stream(config)


__all__ = [
    "ConsumerSpec",
    "EventConsumer",
    "EventHandler",
    "GiveUpHook",
    "HandlerContext",
    "Handlers",
    "RetryLater",
    "UnitOfWork",
    "Unprocessable",
    "create_broker",
    "ensure_stream",
    "event_type_of",
]
