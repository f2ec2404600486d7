"""Subject names and the stream definition.

Subjects are ``<prefix>.<entity>.<event>.<session_id>``, e.g. ``parley.message.created.<uuid>``.
Dead letters go to ``<prefix>.deadletter.<consumer>.<session_id>``; both are kept by one stream.
Live reply deltas use ``<prefix>.live.reply.<session_id>`` and queries ``<prefix>.query.<owner>.<name>``,
both outside the stream: views, not records.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from .events import EVENT_TYPES, Event

_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


def _check_token(value: str, what: str) -> str:
    if not _TOKEN.match(value):
        raise ValueError(f"{what} must be a single subject token of [A-Za-z0-9_-], got {value!r}")
    return value


@dataclass(frozen=True)
class Subjects:
    """The subject builder of one deployment, for a ``prefix`` (default ``parley``).

    Raises:
        ValueError: the prefix is not one subject token.
    """

    prefix: str = "parley"

    def __post_init__(self) -> None:
        _check_token(self.prefix, "prefix")

    def event(self, event_type: str, session_id: uuid.UUID | str) -> str:
        """The subject of one event, e.g. ``parley.reply.completed.<session_id>``."""
        entity, _, name = event_type.partition(".")
        return f"{self.prefix}.{entity}.{name}.{session_id}"

    def of(self, event: Event) -> str:
        """The subject an event is published on."""
        return self.event(event.event_type, event.session_id)

    def filter(self, event_type: str) -> str:
        """The filter subject of all events of a type, e.g. ``parley.reply.completed.*``."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event_type!r}")
        return self.event(event_type, "*")

    def dead_letter(self, consumer: str, session_id: uuid.UUID | str | None) -> str:
        """Where a consumer's dead letters go: ``<prefix>.deadletter.<consumer>.<session|unknown>``."""
        return f"{self.prefix}.deadletter.{_check_token(consumer, 'consumer')}.{session_id or 'unknown'}"

    def query(self, owner: str, name: str) -> str:
        """The request/reply subject of a query: ``<prefix>.query.<owner>.<name>`` (core NATS)."""
        return f"{self.prefix}.query.{_check_token(owner, 'owner')}.{_check_token(name, 'query')}"

    def live_reply(self, session_id: uuid.UUID | str) -> str:
        """The core-NATS subject of live reply deltas of a session (not stored in the stream)."""
        return f"{self.prefix}.live.reply.{session_id}"

    def stream_subjects(self) -> list[str]:
        """The subjects the stream stores: every entity's events and the dead letters."""
        entities = sorted({cls.entity for cls in EVENT_TYPES.values()})
        return [f"{self.prefix}.{entity}.>" for entity in entities] + [
            f"{self.prefix}.deadletter.>"
        ]


@dataclass(frozen=True)
class StreamSpec:
    """The one JetStream stream that holds all events (limits retention, file storage).

    ``duplicate_window_s``: JetStream de-duplication window on ``Nats-Msg-Id``, in seconds;
    ``max_age_s``: how long events are kept, in seconds; ``replicas``: copies of the stream kept
    by a NATS cluster (1 on a single server).
    """

    name: str
    subjects: tuple[str, ...]
    duplicate_window_s: float = 600.0
    max_age_s: float = 14 * 24 * 3600.0
    replicas: int = 1

    @classmethod
    def for_prefix(cls, name: str, prefix: str, replicas: int = 1) -> StreamSpec:
        """The stream ``name`` holding every subject of ``prefix``, kept in ``replicas`` copies.

        Raises:
            ValueError: a name or prefix that is not one subject token, or replicas not 1 to 5.
        """
        if not 1 <= replicas <= 5:
            raise ValueError(f"stream replicas must be 1 to 5, got {replicas}")
        return cls(
            name=_check_token(name, "stream name"),
            subjects=tuple(Subjects(prefix).stream_subjects()),
            replicas=replicas,
        )
