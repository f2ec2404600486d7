"""Request and response shapes of the HTTP API (pydantic)."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from parley_contracts import Trace, unstorable_reason
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from ..domain.sessions import MAX_IDLE_TTL_S


def _no_nul(value: Any) -> Any:
    """Reject text PostgreSQL cannot store anywhere in a value: NUL characters and lone UTF-16
    surrogates (which have no UTF-8 form)."""
    if isinstance(value, str):
        reason = unstorable_reason(value)
        if reason is not None:
            raise ValueError(reason)
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _no_nul(item)
    elif isinstance(value, list):
        for item in value:
            _no_nul(item)
    return value


#: The deepest nesting accepted in session metadata: the object itself is level 1, each
#: object or array inside it one level more.
MAX_METADATA_DEPTH = 32


def _storable_json(value: dict[str, Any]) -> dict[str, Any]:
    """Reject JSON that PostgreSQL's ``jsonb`` or a later read cannot take: nesting deeper than
    :data:`MAX_METADATA_DEPTH`, numbers that are not finite (``NaN``, ``Infinity``, ``1e400``
    parse to non-finite floats), and text :func:`_no_nul` refuses. Walked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_METADATA_DEPTH:
                raise ValueError(f"metadata is nested deeper than {MAX_METADATA_DEPTH} levels")
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                _no_nul(key)
                stack.append((child, depth + 1))
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("metadata numbers must be finite")
        else:
            _no_nul(item)
    return value


#: A pattern (searched, not anchored) that text holding more than whitespace matches.
NOT_BLANK = r"\S"

#: Text the database can store.
Text = Annotated[str, AfterValidator(_no_nul)]
#: A session name as a client may give it (the domain trims it to one line).
Name = Annotated[str, StringConstraints(max_length=200, pattern=NOT_BLANK), AfterValidator(_no_nul)]
#: Free JSON metadata the database can store (finite numbers, at most 32 levels deep).
Metadata = Annotated[dict[str, Any], AfterValidator(_storable_json)]


class SessionCreate(BaseModel):
    """``POST /api/sessions`` body; every field is optional."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: Name | None = None
    persona: Text | None = Field(default=None, max_length=4000)
    model: Text | None = Field(default=None, min_length=1, max_length=100)
    metadata: Metadata = Field(default_factory=dict)
    analytics_opt_out: bool = False
    idle_ttl_s: int | None = Field(
        default=None,
        ge=1,
        le=MAX_IDLE_TTL_S,
        description="Seconds without a new message after which the session is deleted"
        " (as by DELETE, announced on /api/events); absent or null: the server's default"
        " (PARLEY_DEFAULT_IDLE_TTL_S, none unless configured).",
    )


class SessionPatch(BaseModel):
    """``PATCH /api/sessions/{id}`` body; a name set here is the user's."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: Name = Field(default=None)  # may be left out, never null
    is_archived: bool | None = None
    persona: Text | None = Field(default=None, max_length=4000)
    metadata: Metadata | None = None
    idle_ttl_s: int | None = Field(
        default=None,
        ge=1,
        le=MAX_IDLE_TTL_S,
        description="A new idle time to live, seconds from the last message; null: never expire.",
    )


class MessageCreate(BaseModel):
    """``POST /api/sessions/{id}/messages`` body."""

    model_config = ConfigDict(extra="forbid", strict=True)
    content: Text = Field(pattern=NOT_BLANK)


class MessageOut(BaseModel):
    """A message: ``role`` user or assistant; ``status`` pending/answered/failed (user) or
    completed (assistant); ``seq`` orders the messages of a session from 1."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    session_id: uuid.UUID
    seq: int
    role: Literal["user", "assistant"]
    content: str
    status: str
    reply_to: uuid.UUID | None = None
    error: str | None = None
    created_at: datetime


class SessionOut(BaseModel):
    """A session, with its messages when asked for."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    name_source: Literal["default", "provisional", "auto", "user"]
    persona: str | None
    model: str
    metadata: dict[str, Any]
    is_archived: bool
    analytics_opt_out: bool
    message_count: int
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None
    session_tag: str | None
    tags: list[str]
    idle_ttl_s: int | None = None
    expires_at: datetime | None = None
    messages: list[MessageOut] | None = None


class SessionPage(BaseModel):
    """One page of sessions; pass ``next_cursor`` as ``cursor`` for the next (None at the end)."""

    items: list[SessionOut]
    next_cursor: str | None


class MessagePage(BaseModel):
    """One page of messages; pass ``next_after_seq`` as ``after_seq`` for the next."""

    items: list[MessageOut]
    next_after_seq: int | None


class PostedMessage(BaseModel):
    """The user message and, if it came within ``?wait=``, its reply (else null)."""

    message: MessageOut
    reply: MessageOut | None


class TraceList(BaseModel):
    """One page of LLM traces; pass ``next_cursor`` as ``cursor`` for the next (None at the end)."""

    items: list[Trace]
    next_cursor: str | None


class NameSuggestions(BaseModel):
    """Distinct names proposed for a session (up to 3, best first; apply one with ``PATCH``),
    the conversation's ``language`` (ISO 639-1) and who made them (``namer``: ``offline`` or
    ``llm:<model>``)."""

    titles: list[str]
    language: str | None = None
    namer: str
