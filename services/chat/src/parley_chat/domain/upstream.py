"""The ``UpstreamAI`` port: how the chat service talks to an AI, whatever the provider.

A provider keeps a conversation as an *upstream session*: :meth:`UpstreamAI.open_session` creates
it once (on a Parley session's first message) and :meth:`UpstreamAI.send` continues it. Stateless
providers get the transcript (``history``) replayed instead.
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
    """A finished reply: its text and, where the provider reports them, token counts."""

    content: str
    input_tokens: int | None = None
    output_tokens: int | None = None


class UpstreamError(Exception):
    """The provider failed. ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class UpstreamSessionLost(UpstreamError):
    """The provider no longer knows the upstream session (e.g. HTTP 404): rebuild it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


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
        self, *, session_id: uuid.UUID, persona: str | None, first_message: str
    ) -> str:
        """Create the upstream session; returns its upstream id.

        Raises:
            UpstreamError: the provider refused or failed.
        """
        ...

    async def send(
        self,
        *,
        upstream_id: str,
        content: str,
        turn: int,
        history: Sequence[TranscriptTurn],
        on_delta: DeltaSink,
    ) -> UpstreamReply:
        """Send user message ``content`` (the session's ``turn``-th) and return the reply,
        streaming its pieces to ``on_delta``.

        Raises:
            UpstreamSessionLost: the upstream session is gone.
            UpstreamError: any other failure.
        """
        ...
