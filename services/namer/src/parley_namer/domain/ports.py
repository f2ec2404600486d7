"""The namer's storage port: what naming a session keeps (:class:`NamingStore`), and the naming
state it reads back (:class:`NamingState`).

Every method takes the connection (or pool) to use as its first argument, so a caller decides
what runs in one transaction; a fake for unit tests may ignore it. The PostgreSQL adapter is
:mod:`parley_namer.adapters.store` (a module that satisfies this Protocol as it is).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from .names import Turn
from .policy import NamingStatus

#: Kept messages of the first exchanges, keyed by ``(turn, role)``.
Exchanges = dict[tuple[int, str], Turn]


@dataclass(frozen=True)
class NamingState:
    """Where naming one session stands.

    ``status``: ``pending`` (to be named), ``named`` (named automatically) or ``user`` (its user
    named it: never named automatically again); ``name``/``language``: its current name, if
    any; ``attempts``: naming attempts recorded so far; ``analytics_opt_out``: its attempts keep
    no content (names, details).
    """

    session_id: uuid.UUID
    user_id: str
    status: NamingStatus = "pending"
    name: str | None = None
    language: str | None = None
    attempts: int = 0
    analytics_opt_out: bool = False


class NamingStore(Protocol):
    """Naming states, the first exchanges and the naming attempts of sessions."""

    async def ensure_state(
        self, conn: Any, session_id: uuid.UUID, user_id: str, status: str = "pending"
    ) -> None:
        """Create the session's naming state if missing."""
        ...

    async def get_state(
        self, conn: Any, session_id: uuid.UUID, *, for_update: bool = False
    ) -> NamingState | None:
        """The session's naming state (locked for the transaction with ``for_update``), or
        None."""
        ...

    async def add_exchange(
        self, conn: Any, session_id: uuid.UUID, turn: int, role: str, content: str
    ) -> None:
        """Keep one message of the first exchanges (cut to the namer's input limit); a message
        kept already stays as it is."""
        ...

    async def exchanges(self, conn: Any, session_id: uuid.UUID) -> Exchanges:
        """The kept messages, keyed by ``(turn, role)``."""
        ...

    async def record_attempt(
        self,
        conn: Any,
        session_id: uuid.UUID,
        *,
        trigger_turn: int,
        outcome: str,
        name: str | None,
        language: str | None,
        detail: str | None,
        duration_ms: int,
        user_id: str | None = None,
        purpose: str = "auto",
        namer: str = "offline",
        words: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        model_calls: int = 0,
        fallback_reason: str | None = None,
    ) -> int:
        """Count an attempt on the state and record it; the attempt's number (the state must
        exist)."""
        ...

    async def set_analytics_opt_out(
        self, conn: Any, session_id: uuid.UUID, user_id: str, opt_out: bool, status: str
    ) -> None:
        """Record the session's analytics opt-out and initial status (``user`` when created
        with a name of its user; never turned back to ``pending``)."""
        ...

    async def attempt_rows(self, conn: Any, user_id: str) -> list[dict[str, Any]]:
        """Every naming attempt of ``user_id``'s sessions (the figures analytics sum up)."""
        ...

    async def set_named(
        self, conn: Any, session_id: uuid.UUID, name: str, language: str | None
    ) -> None:
        """Mark the session named automatically."""
        ...

    async def set_user_named(
        self, conn: Any, session_id: uuid.UUID, user_id: str, name: str
    ) -> None:
        """The user named the session: never name it automatically again."""
        ...

    async def erase_session(self, conn: Any, session_id: uuid.UUID) -> None:
        """Erase all that is kept of the session."""
        ...


def in_order(kept: Exchanges) -> list[Turn]:
    """Kept messages in conversation order: by turn, the user's before the reply."""
    return [kept[key] for key in sorted(kept, key=lambda k: (k[0], k[1] != "user"))]
