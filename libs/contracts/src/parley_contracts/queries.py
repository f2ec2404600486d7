"""Request/reply contracts: questions a service answers about the data it owns (core NATS
request/reply on ``<prefix>.query.<owner>.<name>``, not stored in the stream)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TraceCursor(BaseModel):
    """Where a page of traces ended: the last trace's ``created_at`` and ``id``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    created_at: datetime
    id: uuid.UUID


class TraceQuery(BaseModel):
    """Ask the tagger for a user's LLM traces, newest first, optionally of one session tag or
    one session; ``cursor`` continues after an earlier page."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    user_id: str = Field(min_length=1, max_length=200)
    session_tag: str | None = Field(default=None, max_length=100)
    session_id: uuid.UUID | None = None
    cursor: TraceCursor | None = None
    limit: int = Field(default=50, ge=1, le=500)


class Trace(BaseModel):
    """One reply as the tagger recorded it; latency in milliseconds; the upstream's id of the
    reply, why it finished and the tries after the first."""

    id: uuid.UUID
    session_id: uuid.UUID
    session_tag: str
    model: str
    provider: str
    turn: int
    input: str
    output: str
    latency_ms: int
    input_tokens: int | None = None
    output_tokens: int | None = None
    upstream_session_id: str | None = None
    upstream_response_id: str | None = None
    finish_reason: str | None = None
    retries: int = 0
    created_at: datetime


class TracePage(BaseModel):
    """The answer to a :class:`TraceQuery`: ``next_cursor`` continues (None at the end)."""

    items: list[Trace]
    next_cursor: TraceCursor | None = None
