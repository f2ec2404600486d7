"""Request/reply contracts: questions a service answers about the data it owns (core NATS
request/reply on ``<prefix>.query.<owner>.<name>``, not stored in the stream)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .events import MAX_USER_ID_CHARS


class TraceCursor(BaseModel):
    """Where a page of traces ended: the last trace's ``created_at`` and ``id``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    created_at: datetime
    id: uuid.UUID


class TraceQuery(BaseModel):
    """Ask the tagger for a user's LLM traces, newest first, optionally of one session tag or
    one session; ``cursor`` continues after an earlier page."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    user_id: str = Field(min_length=1, max_length=MAX_USER_ID_CHARS)
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


#: Messages of a conversation a namer reads: its first exchanges (user message and reply).
NAMING_MAX_MESSAGES = 6
#: Characters of each message a namer reads; the rest is never sent to it.
NAMING_MAX_CHARS = 500


class NamingTurn(BaseModel):
    """One message of the conversation to name: ``role`` ``user`` or ``assistant``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=100_000)


class NamingRequest(BaseModel):
    """Ask the namer for names of a session's conversation (``turns``: its first messages, in
    order, as the gateway stores them).

    ``purpose``: ``suggest`` (``count`` distinct candidates, nothing changes) or ``regenerate``
    (one new name, which the namer records as the session's; the gateway applies it).
    ``avoid``: titles not to propose again (a regenerated name differs from the current one
    whenever another can be made).
    ``analytics_opt_out``: the session keeps its content out of analytics rows.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    user_id: str = Field(min_length=1, max_length=MAX_USER_ID_CHARS)
    session_id: uuid.UUID
    purpose: Literal["suggest", "regenerate"]
    count: int = Field(default=1, ge=1, le=5)
    turns: list[NamingTurn] = Field(max_length=6)
    avoid: list[str] = Field(default_factory=list, max_length=5)
    analytics_opt_out: bool = False


class NamingAnswer(BaseModel):
    """The namer's answer to a :class:`NamingRequest`: ``titles`` best first (empty: nothing to
    name yet), the conversation's ``language`` (ISO 639-1), who made them (``namer``:
    ``offline`` or ``llm:<model>``) and the attempt's number for the session."""

    titles: list[str]
    language: str | None = None
    namer: str
    attempt: int = Field(ge=1)


class NamingAnalyticsQuery(BaseModel):
    """Ask the namer for the naming analytics of one user's sessions."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    user_id: str = Field(min_length=1, max_length=MAX_USER_ID_CHARS)


class NamingAnalytics(BaseModel):
    """Naming attempts of a user's sessions, summed up.

    ``attempts``: every attempt (automatic, suggestions, regenerate); ``sessions``: sessions
    with at least one; ``success_rate``: share (0-1) of attempts that produced a title;
    ``attempts_per_session``: mean; ``latency_ms_p50``/``p95``: nearest-rank percentiles,
    milliseconds; ``words_mean``/``words_median``: words of the titles produced;
    ``languages``: attempts per conversation language; ``namers``: attempts per namer;
    ``outcomes``: attempts per outcome; ``fallbacks``: attempts where a model's answer was not
    used; ``input_tokens``/``output_tokens``: summed over model calls.
    """

    sessions: int
    attempts: int
    success_rate: float | None
    attempts_per_session: float | None
    latency_ms_p50: int | None
    latency_ms_p95: int | None
    words_mean: float | None
    words_median: float | None
    languages: dict[str, int]
    namers: dict[str, int]
    outcomes: dict[str, int]
    fallbacks: int
    input_tokens: int
    output_tokens: int
