"""Parley's events: one envelope, one pydantic model per event type.

Every event shares the envelope fields of :class:`Event`. The payload fields of each event type
are declared on its subclass, flat beside the envelope. ``parse_event`` turns the JSON bytes of a
message into the right model (a discriminated union on ``event_type``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

#: Most characters of a user id (a token's ``sub``) that events and queries carry.
MAX_USER_ID_CHARS = 200

#: Namespace of the deterministic ids of derived events (uuid5, RFC 9562 section 5.5).
DERIVED_EVENT_NAMESPACE = uuid.UUID("5b0f4c4e-6a43-4f0e-9d59-6b0cfa1e7a21")


def derive_id(cause: uuid.UUID, kind: str) -> uuid.UUID:
    """Return the deterministic id of something derived from ``cause``.

    ``uuid5(DERIVED_EVENT_NAMESPACE, f"{cause}:{kind}")``: a redelivered cause yields the same id, so
    it can never produce a second, different event (JetStream de-duplicates on it) or row.

    Args:
        cause: the id of the event (or message) that caused the derived thing.
        kind: what is derived, e.g. ``"reply.completed"`` or ``"reply.message"``.
    """
    return uuid.uuid5(DERIVED_EVENT_NAMESPACE, f"{cause}:{kind}")


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


class Event(BaseModel):
    """The envelope every Parley event carries.

    Fields: ``event_id`` (UUID, also the ``Nats-Msg-Id`` header), ``event_type`` (``entity.event``),
    ``schema_version``, ``occurred_at`` (aware UTC), ``correlation_id`` (the user message that
    started the chain, or None), ``session_id``, ``user_id``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity: ClassVar[str]
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event_type: str
    schema_version: int = 1
    occurred_at: AwareDatetime = Field(default_factory=utcnow)
    correlation_id: uuid.UUID | None = None
    session_id: uuid.UUID
    user_id: str = Field(min_length=1, max_length=MAX_USER_ID_CHARS)

    def to_json(self) -> bytes:
        """The event as compact JSON bytes (UTF-8), the wire format on the bus."""
        return self.model_dump_json().encode()


class SessionCreated(Event):
    """A user created a session. ``model`` is the AI model the session talks to."""

    entity: ClassVar[str] = "session"
    event_type: Literal["session.created"] = "session.created"
    name: str
    name_source: Literal["default", "provisional", "auto", "user"]
    model: str
    persona: str | None = None
    analytics_opt_out: bool = False


class MessageCreated(Event):
    """A user posted a message. ``turn`` counts the user messages of the session from 1.
    ``live``: its poster streams the reply, so the reply's deltas are published (core NATS,
    ``<prefix>.live.reply.<session_id>``); without it only the whole reply is."""

    entity: ClassVar[str] = "message"
    event_type: Literal["message.created"] = "message.created"
    message_id: uuid.UUID
    seq: int = Field(ge=1)
    turn: int = Field(ge=1)
    content: str
    model: str
    persona: str | None = None
    live: bool = False


class ReplyCompleted(Event):
    """The upstream AI answered user message ``reply_to`` (its ``turn``).

    ``message_id`` is the id of the assistant message (deterministic from the cause);
    ``prompt`` is the user message answered; ``latency_ms`` the upstream time in milliseconds
    (retries included); ``provider`` who answered (``gemini``, ``openai``...);
    ``upstream_session_id`` the upstream session continued next time; ``upstream_response_id`` the
    provider's id of this reply; ``finish_reason`` as the provider names it; ``input_tokens`` /
    ``output_tokens`` as it reports them; ``retries`` the tries after the first;
    ``upstream_done_at`` when the reply's last byte arrived from the upstream.
    """

    entity: ClassVar[str] = "reply"
    event_type: Literal["reply.completed"] = "reply.completed"
    message_id: uuid.UUID
    reply_to: uuid.UUID
    turn: int = Field(ge=1)
    content: str
    prompt: str
    model: str
    provider: str
    upstream_session_id: str
    latency_ms: int = Field(ge=0)
    input_tokens: int | None = None
    output_tokens: int | None = None
    upstream_response_id: str | None = None
    finish_reason: str | None = None
    retries: int = Field(default=0, ge=0)
    upstream_done_at: AwareDatetime | None = None


class ReplyFailed(Event):
    """The upstream AI could not answer user message ``reply_to``; ``reason`` says why."""

    entity: ClassVar[str] = "reply"
    event_type: Literal["reply.failed"] = "reply.failed"
    reply_to: uuid.UUID
    turn: int = Field(ge=1)
    reason: str


class SessionNamed(Event):
    """The namer proposes ``name`` for the session (applied only if the user has not named it).

    ``source``: ``provisional`` (from the first user message at once; replaces only the default
    name, ``attempt`` 0) or ``auto`` (generated from the first exchanges; replaces a default or
    provisional name, ``attempt`` ≥ 1).
    """

    entity: ClassVar[str] = "session"
    event_type: Literal["session.named"] = "session.named"
    name: str = Field(min_length=1, max_length=200)
    attempt: int = Field(ge=0)
    language: str | None = None
    source: Literal["provisional", "auto"] = "auto"


class SessionRenamed(Event):
    """The user named the session ``name``: no automatic name may replace it."""

    entity: ClassVar[str] = "session"
    event_type: Literal["session.renamed"] = "session.renamed"
    name: str


class SessionTagged(Event):
    """The tagger gave the session ``session_tag`` (``chat_model_<id6>_<counter>``)."""

    entity: ClassVar[str] = "session"
    event_type: Literal["session.tagged"] = "session.tagged"
    session_tag: str
    model: str
    model_id: uuid.UUID
    counter: int = Field(ge=1)
    label: str


class SessionDeleted(Event):
    """The user deleted the session: every service erases its data of it."""

    entity: ClassVar[str] = "session"
    event_type: Literal["session.deleted"] = "session.deleted"


AnyEvent = Annotated[
    SessionCreated
    | MessageCreated
    | ReplyCompleted
    | ReplyFailed
    | SessionNamed
    | SessionRenamed
    | SessionTagged
    | SessionDeleted,
    Field(discriminator="event_type"),
]

EVENT_TYPES: dict[str, type[Event]] = {
    cls.model_fields["event_type"].default: cls
    for cls in (
        SessionCreated,
        MessageCreated,
        ReplyCompleted,
        ReplyFailed,
        SessionNamed,
        SessionRenamed,
        SessionTagged,
        SessionDeleted,
    )
}

_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyEvent)


def parse_event(data: bytes | str) -> Event:
    """Parse the JSON of one event into its model.

    Raises:
        pydantic.ValidationError: the data is not JSON or does not match any event contract.
    """
    return _ADAPTER.validate_json(data)
