"""The shape every provider shares: one turn in, typed deltas out, a completion or a classified error.

A provider module turns its SDK's calls and errors into these types, so that the services above
write retries, session reuse and traces once for all providers.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


@dataclass(frozen=True)
class Turn:
    """One earlier message of a conversation: ``role`` ``user`` or ``assistant``, and its text."""

    role: str
    content: str


@dataclass(frozen=True)
class Delta:
    """One streamed piece of a reply: its position ``index`` (0, 1, ...) and its ``text``."""

    index: int
    text: str


#: Receives each :class:`Delta` as the provider streams it.
DeltaSink = Callable[[Delta], Awaitable[None]]


@dataclass(frozen=True)
class Usage:
    """Token counts of one call, as the provider reports them (None when it does not)."""

    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class Completion:
    """A finished reply.

    ``session_id`` is the upstream session to continue next time (the Gemini interaction chain's
    new head, the OpenAI conversation, the session server's session; None for stateless providers);
    ``response_id`` the provider's id of this one reply; ``finish_reason`` as the provider names it
    (``stop``, ``length``, ``completed``...); ``last_byte_at`` the ``time.time()`` (seconds) at
    which the last byte of the reply arrived.
    """

    text: str
    session_id: str | None = None
    response_id: str | None = None
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    last_byte_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class StructuredAnswer:
    """The answer of one structured-output call: the JSON object ``value``, the ``usage`` the
    provider reported and the raw ``text`` it was parsed from."""

    value: dict[str, Any]
    usage: Usage = field(default_factory=Usage)
    text: str = ""


class ErrorKind(StrEnum):
    """What went wrong upstream, as far as a caller needs to know to react."""

    RATE_LIMITED = "rate_limited"  # 429: retry after ``retry_after_s`` or with backoff
    UNAVAILABLE = "unavailable"  # 5xx, timeout, connection refused: retry with backoff
    SESSION_LOST = "session_lost"  # 404 on the upstream session: rebuild it from the transcript
    BAD_REQUEST = "bad_request"  # any other 4xx (bad key, refused content): do not retry
    BAD_ANSWER = "bad_answer"  # a structured answer that is not the JSON object asked for


class ProviderError(Exception):
    """A provider call failed; ``kind`` says how, ``retry_after_s`` what the provider asked for."""

    def __init__(
        self, message: str, *, kind: ErrorKind, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        """Whether trying the same call again may help (rate limits and outages)."""
        return self.kind in (ErrorKind.RATE_LIMITED, ErrorKind.UNAVAILABLE)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from an HTTP ``Retry-After`` header (RFC 9110 section 10.2.3): either
    delay-seconds or an HTTP-date. None when absent or unreadable; never negative."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def classify_status(
    status: int, message: str, headers: Any = None, *, session_call: bool = False
) -> ProviderError:
    """The :class:`ProviderError` for an HTTP status: 429 rate-limited (with ``Retry-After``),
    408/409/5xx unavailable, 404 session-lost when the call named an upstream session
    (``session_call``), any other status a bad request."""
    retry_after = parse_retry_after(headers.get("retry-after")) if headers is not None else None
    if status == 429:
        kind = ErrorKind.RATE_LIMITED
    elif status in (408, 409) or status >= 500:
        kind = ErrorKind.UNAVAILABLE
    elif status == 404 and session_call:
        kind = ErrorKind.SESSION_LOST
    else:
        kind = ErrorKind.BAD_REQUEST
    return ProviderError(f"HTTP {status}: {message[:300]}", kind=kind, retry_after_s=retry_after)


def classify_sdk_error(exc: BaseException, *, session_call: bool = False) -> ProviderError:
    """Classify an exception of an SDK built on httpx (openai, google-genai) or of httpx itself:
    one with ``status_code`` and ``response`` by its status, timeouts and connection errors as
    unavailable, anything else as a bad request."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        return classify_status(status, str(exc), headers, session_call=session_call)
    name = type(exc).__name__.lower()
    if "timeout" in name or "connect" in name or "network" in name or "protocol" in name:
        return ProviderError(f"{type(exc).__name__}: {exc}", kind=ErrorKind.UNAVAILABLE)
    return ProviderError(f"{type(exc).__name__}: {exc}", kind=ErrorKind.BAD_REQUEST)


class JsonFromStructured:
    """``generate_json`` for a provider class that implements ``generate_structured``: the
    answer's value alone."""

    async def generate_json(
        self, *, system: str, user: str, json_schema: dict[str, Any], schema_name: str
    ) -> dict[str, Any]:
        """The JSON object of :meth:`generate_structured` (see :class:`Provider`)."""
        answer = await self.generate_structured(  # type: ignore[attr-defined]
            system=system, user=user, json_schema=json_schema, schema_name=schema_name
        )
        return answer.value


class Provider(Protocol):
    """One upstream AI behind the common shape.

    ``stateful`` providers keep the conversation upstream (``session_id`` continues it); the
    others get the whole transcript as ``history`` on every call.
    """

    name: str
    stateful: bool

    async def open_session(self, *, system: str | None, history: Sequence[Turn]) -> str | None:
        """Create the upstream session ahead of the first turn, seeded with ``history`` (a lost
        session's transcript, else empty); its id, or None where the first :meth:`stream`
        creates it.

        Raises:
            ProviderError: classified failure.
        """
        ...

    async def stream(
        self,
        *,
        session_id: str | None,
        system: str | None,
        user: str,
        history: Sequence[Turn],
        on_delta: DeltaSink,
    ) -> Completion:
        """Send ``user`` on upstream session ``session_id`` (None: start one, seeded with
        ``history`` where the provider needs it) and stream the reply to ``on_delta``.

        Raises:
            ProviderError: classified failure (``SESSION_LOST`` when ``session_id`` is gone).
        """
        ...

    async def generate_json(
        self, *, system: str, user: str, json_schema: dict[str, Any], schema_name: str
    ) -> dict[str, Any]:
        """One stateless structured-output call: a JSON object matching ``json_schema``.

        Raises:
            ProviderError: classified failure, or BAD_ANSWER when the answer is not a JSON object.
        """
        ...

    async def generate_structured(
        self, *, system: str, user: str, json_schema: dict[str, Any], schema_name: str
    ) -> StructuredAnswer:
        """:meth:`generate_json` with the call's token usage and raw text.

        Raises:
            ProviderError: as :meth:`generate_json`.
        """
        ...
