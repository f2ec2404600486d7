"""The ``UpstreamAI`` port: how the chat service talks to an AI, whatever the provider.

A provider keeps a conversation as an *upstream session*: :meth:`UpstreamAI.open_session` creates
it once (on a Parley session's first message), or returns None where the first
:meth:`UpstreamAI.send` creates it; every reply names the session to continue next (a Gemini
interaction chain moves its head every turn). Stateless providers get the transcript (``history``)
replayed instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

#: Receives each piece of a reply as it is produced: ``(index, text)``.
DeltaSink = Callable[[int, str], Awaitable[None]]


@dataclass(frozen=True)
class TranscriptTurn:
    """One earlier message of the session: role ``user`` or ``assistant`` and its text."""

    role: str
    content: str


@dataclass(frozen=True)
class UpstreamReply:
    """A finished reply: its text and, where the provider reports them, token counts.

    ``upstream_id``: the upstream session to continue next time (None: the one it was sent on);
    ``response_id``: the provider's id of this reply; ``finish_reason`` as the provider names it;
    ``last_byte_at``: ``time.time()`` seconds when the reply's last byte arrived.
    """

    content: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    upstream_id: str | None = None
    response_id: str | None = None
    finish_reason: str | None = None
    last_byte_at: float | None = None


#: How an upstream call failed: ``rate_limited``, ``unavailable``, ``session_lost``,
#: ``bad_request``.
FAILURE_KINDS = ("rate_limited", "unavailable", "session_lost", "bad_request")


class UpstreamError(Exception):
    """The provider failed. ``retryable`` says whether trying again may help; ``kind`` is one of
    :data:`FAILURE_KINDS`; ``retry_after_s`` is the wait the provider asked for, if any."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        kind: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.kind = kind or ("unavailable" if retryable else "bad_request")
        self.retry_after_s = retry_after_s


class UpstreamSessionLost(UpstreamError):
    """The provider no longer knows the upstream session (e.g. HTTP 404): rebuild it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False, kind="session_lost")


def user_reason(error: UpstreamError) -> str:
    """What to tell a user whose message the upstream could not answer."""
    if error.kind == "rate_limited":
        return "The model is rate-limited; try again in a minute."
    if error.kind == "unavailable":
        return "The model is unavailable right now; try again shortly."
    if error.kind == "session_lost":
        return "The model lost this conversation and it could not be rebuilt; try again."
    return f"The model refused this message: {str(error)[:300]}"


class UpstreamAI(Protocol):
    """An upstream AI provider.

    ``stateless`` providers keep no conversation of their own (chat completions): every
    :meth:`send` gets the transcript as ``history``. The others get it only when their upstream
    session was lost and is rebuilt.
    """

    provider: str
    model: str
    stateless: bool

    async def open_session(
        self,
        *,
        session_id: uuid.UUID,
        persona: str | None,
        first_message: str,
        history: Sequence[TranscriptTurn] = (),
    ) -> str | None:
        """Create the upstream session, seeded with ``history`` (a lost session's transcript);
        returns its upstream id, or None where the first :meth:`send` creates it.

        Raises:
            UpstreamError: the provider refused or failed.
        """
        ...

    async def send(
        self,
        *,
        upstream_id: str | None,
        content: str,
        turn: int,
        history: Sequence[TranscriptTurn],
        on_delta: DeltaSink,
        persona: str | None = None,
    ) -> UpstreamReply:
        """Send user message ``content`` (the session's ``turn``-th) on upstream session
        ``upstream_id`` (None: open one, seeded with ``history``) and return the reply, streaming
        its pieces to ``on_delta``. ``persona`` is the session's system instruction.

        Raises:
            UpstreamSessionLost: the upstream session is gone.
            UpstreamError: any other failure.
        """
        ...


class UnknownModel(LookupError):
    """A message names a model that is not in the catalogue, or one that cannot be used here."""
