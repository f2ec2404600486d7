"""When the namer tries, and the port of whatever proposes a name.

Attempt 1 follows the first reply (message 2); a failed attempt is retried after messages 4 and 6
(the replies of turns 2 and 3). A session named automatically, or by its user, is not named again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from .names import MAX_EXCHANGES, Turn

NamingStatus = Literal["pending", "named", "user"]


class Namer(Protocol):
    """Proposes a session name from the first exchanges (synchronous; may be CPU-bound)."""

    def propose_with_language(self, turns: Sequence[Turn]) -> tuple[str | None, str | None]:
        """A short name for the conversation (None when none can be made yet) and the ISO 639-1
        code of the language it is in (None when unknown)."""
        ...


OFFLINE = "offline"
"""The :attr:`Proposal.namer` of the offline namer."""


@dataclass(frozen=True)
class Proposal:
    """What one naming attempt produced, and what it cost.

    ``titles``: the names, best first (one for a name, up to ``count`` suggestions; empty when
    none can be made yet); ``language``: ISO 639-1 code of the conversation; ``namer``:
    ``"offline"`` or ``"llm:<model>"``, whoever made ``titles``; ``latency_ms``: the whole
    attempt, milliseconds; ``input_tokens``/``output_tokens``: summed over the model calls
    (None: no call, or not reported); ``model_calls``: answers asked of a model (a retry
    with the reason counts); ``fallback_reason``: why a model's answers were not used (None
    when they were, or no model was asked).
    """

    titles: tuple[str, ...]
    language: str | None
    namer: str
    latency_ms: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    model_calls: int = 0
    fallback_reason: str | None = None

    @property
    def name(self) -> str | None:
        """The best title, or None."""
        return self.titles[0] if self.titles else None


class AsyncNamer(Protocol):
    """Proposes names for a conversation without blocking the event loop (the LLM namer, or the
    offline namer run in a worker thread)."""

    async def propose(
        self, turns: Sequence[Turn], *, count: int = 1, avoid: Sequence[str] = ()
    ) -> Proposal:
        """Up to ``count`` distinct titles for the first exchanges ``turns``, none of ``avoid``
        (compared case-folded) unless nothing else can be made. Raises nothing: failures become
        a :class:`Proposal` without titles or from a fallback."""
        ...


class LanguageDetector(Protocol):
    """Tells the language of a text (ISO 639-1 codes)."""

    def detect(self, text: str) -> str | None:
        """The language of ``text``, or None when it cannot tell."""
        ...

    def contradicts(self, text: str, expected: str) -> str | None:
        """Another language that ``text`` (a short title) is surely in, rather than
        ``expected``; None when it may be in ``expected``."""
        ...

    def name_of(self, code: str | None) -> str | None:
        """The English name of a language code (``"fr"`` → ``"french"``), or None."""
        ...


def is_milestone(reply_turn: int) -> bool:
    """Whether the reply of user turn ``reply_turn`` is one after which a session still
    pending is tried (turns 1 to :data:`~.names.MAX_EXCHANGES`)."""
    return 1 <= reply_turn <= MAX_EXCHANGES


def should_attempt(status: NamingStatus, reply_turn: int) -> bool:
    """Whether the reply of user turn ``reply_turn`` triggers a naming attempt."""
    return status == "pending" and is_milestone(reply_turn)


def is_settled(status: NamingStatus) -> bool:
    """Whether naming a session is over for good: once named (automatically or by its user) a
    session never becomes ``pending`` again, so no attempt is ever due for it."""
    return status != "pending"


def needs_nothing(known_settled: bool) -> bool:
    """Whether a user message or a reply needs no work at all: its session is known settled,
    so no attempt will ever read what the namer keeps of it (nothing is kept or marked)."""
    return known_settled


def only_keeps(event_kind: Literal["message", "reply"], turn: int, known_settled: bool) -> bool:
    """Whether handling a user message or a reply of ``turn`` only keeps it (so it may share a
    batch's transaction): not one that needs nothing (:func:`needs_nothing`, so it holds no
    batch up), not the first message (it gets a provisional name), not a reply that may lead to
    an attempt (a naming turn)."""
    if needs_nothing(known_settled):
        return False
    if event_kind == "message":
        return turn != 1
    return not is_milestone(turn)
