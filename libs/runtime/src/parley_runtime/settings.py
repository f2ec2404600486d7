"""Settings every service reads from its environment (pydantic-settings).

``NATS_URL`` and ``DATABASE_URL`` name the servers; everything else is ``PARLEY_*``.
Services subclass :class:`RuntimeSettings` to add their own ``PARLEY_*`` settings.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RuntimeSettings(BaseSettings):
    """The chassis settings shared by every service.

    Durations are in seconds. ``backoff_s`` is the delay before each redelivery of a failed event
    (the last value repeats); after ``max_deliver`` failed deliveries the event goes to the dead
    letters.
    ``db_command_timeout_s`` bounds every statement (and every new connection) of the service's
    pool: past it the statement fails with ``TimeoutError`` instead of hanging on a frozen
    server; None waits forever. A handler that fails because the database is out of reach is
    tried again in place (its delivery kept in progress, pauses doubling from 0.5 s to 5 s) for
    up to ``db_outage_wait_s``: an outage spends none of an event's deliveries.
    ``stream_replicas``: copies of the stream in a NATS cluster (every service declares the
    stream with it at start, so all must agree).
    ``max_batch_events``: the most events of different sessions handled in one transaction when
    their handlers allow it (see :mod:`parley_runtime.batching`); 1 gives each its own.
    An event that waits for an earlier one (``RetryLater``) may be redelivered up to
    ``max_wait_deliveries`` times, with a delay doubling up to 15 s.
    ``outbox_settle_s``: how long an outbox row the relay published may stay before a round
    deletes it with every other row published meanwhile, in one statement (under the 2 s after
    which the leading relay's sweep would take it for unpublished).
    """

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    nats_url: str = Field(
        default="nats://127.0.0.1:4222",
        validation_alias=AliasChoices("NATS_URL", "PARLEY_NATS_URL"),
    )
    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/parley",
        validation_alias=AliasChoices("DATABASE_URL", "PARLEY_DATABASE_URL"),
    )
    prefix: str = "parley"
    stream: str = "PARLEY"
    stream_replicas: int = Field(default=1, ge=1, le=5)
    env: Literal["dev", "prod"] = "dev"
    log_level: str = "INFO"
    max_deliver: int = Field(default=5, ge=1, le=100)
    max_wait_deliveries: int = Field(default=30, ge=1, le=1000)
    backoff_s: tuple[float, ...] = (0.5, 2.0, 5.0, 15.0)
    ack_wait_s: float = Field(default=60.0, gt=0)
    max_workers: int = Field(default=8, ge=1, le=256)
    max_in_flight: int = Field(default=256, ge=1, le=1000)
    fetch_batch: int = Field(default=32, ge=1, le=256)
    max_batch_events: int = Field(default=64, ge=1, le=1000)
    tracing: Literal["off", "on"] = "off"
    db_pool_min: int = Field(default=1, ge=0)
    db_pool_max: int = Field(default=10, ge=1)
    db_command_timeout_s: float | None = Field(default=30.0, gt=0)
    db_outage_wait_s: float = Field(default=60.0, ge=0)
    outbox_poll_s: float = Field(default=1.0, gt=0)
    outbox_settle_s: float = Field(default=0.5, gt=0, le=1.0)
    health_host: str = "127.0.0.1"
    health_port: int | None = None
