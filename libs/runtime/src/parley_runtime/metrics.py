"""Prometheus metrics of the chassis, served at ``GET /metrics`` by every service."""

from __future__ import annotations

import functools
from typing import TypeVar

from prometheus_client import Counter, Histogram
from prometheus_client.metrics import MetricWrapperBase

M = TypeVar("M", bound=MetricWrapperBase)


@functools.cache
def child(metric: M, *values: str) -> M:
    """``metric.labels(*values)``, looked up once per label values and then kept: a delivery
    counts and times itself with two of these, and ``labels`` takes a lock and checks the
    values on every call. The label values must be few (consumers, event types, outcomes).

    Raises:
        ValueError: the values do not match the metric's label names.
    """
    return metric.labels(*values)


EVENTS = Counter(
    "parley_events_handled_total",
    "Deliveries of events to a consumer, by outcome: ok, duplicate (inbox), dropped (deleted "
    "session), waiting (RetryLater), retried (failed, redelivered after backoff), dead_lettered.",
    ["consumer", "event_type", "outcome"],
)
HANDLING = Histogram(
    "parley_event_handling_seconds",
    "Time to handle one delivery of an event, in seconds (from its turn in its session).",
    ["consumer", "event_type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
OUTBOX_PUBLISHED = Counter(
    "parley_outbox_published_total",
    "Events published from a service's outbox to the stream.",
    ["schema"],
)
BATCHES = Histogram(
    "parley_event_batch_size",
    "Events handled and committed together in one transaction by a consumer's batch"
    " (two or more: an event ready alone is handled alone).",
    ["consumer"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
