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


@dataclass(frozen=True)
class NamingInput:
    """What the naming that follows a reply starts from, read at once: whether the session was
    deleted (``gone``), whether this consumer handled the reply's event already (``handled``),
    the naming state (None before the session's first event reached the namer) and the kept
    messages (``kept``)."""

    gone: bool
    handled: bool
    state: NamingState | None
    kept: Exchanges


class NamingStore(Protocol):
    """Naming states, the first exchanges and the naming attempts of sessions."""

    async def keep(
        self,
        conn: Any,
        session_id: uuid.UUID,
        user_id: str,
        exchange: tuple[int, Turn] | None = None,
        *,
        lock: bool = False,
    ) -> NamingState | None:
        """Create the session's naming state (``pending``) if missing and keep ``exchange``
        (``(turn, message)``, one message of the first exchanges, cut to the namer's input
        limit; a message kept already stays as it is), in one round trip; with ``lock``, the
        state, locked for the transaction (None without)."""
        ...

    async def keep_last(
        self, uow: Any, session_id: uuid.UUID, user_id: str, exchange: tuple[int, Turn] | None
    ) -> None:
        """:meth:`keep` without the lock, in the unit of work ``uow`` (written with its last
        statement)."""
        ...

    async def keep_unattempted(
        self, uow: Any, session_id: uuid.UUID, exchange: tuple[int, Turn]
    ) -> None:
        """Keep ``exchange`` in the unit of work ``uow`` (written with its last statement) if
        the session's state is ``pending`` and was never attempted, when that statement runs.

        Raises:
            WriteConflict: the state is not so, or missing (raised where the write is sent;
                nothing is written).
        """
        ...

    async def settle_attempt(
        self,
        uow: Any,
        state: NamingState,
        exchange: tuple[int, Turn],
        attempt: dict[str, Any],
        named: tuple[str, str | None] | None,
    ) -> int:
        """Keep ``exchange``, count and record an attempt (``attempt``: the keyword arguments
        of :meth:`record_attempt`) and, with ``named`` (``(name, language)``), name the
        session, in the unit of work ``uow`` (written with its last statement) if the state is
        still as read (``state``) when that statement runs; the attempt's number.

        Raises:
            WriteConflict: the state changed since ``state`` was read (raised where the write
                is sent; nothing is written).
        """
        ...

    async def naming_input(
        self, conn: Any, session_id: uuid.UUID, *, consumer: str, event_id: uuid.UUID
    ) -> NamingInput:
        """Whether the session was deleted, whether ``consumer`` handled event ``event_id``
        already, the naming state and the kept messages, in one round trip."""
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
        """Count an attempt on the state and record it, in one round trip; the attempt's number.

        Raises:
            LookupError: the session has no naming state (nothing is written).
        """
        ...

    async def set_analytics_opt_out(
        self, uow: Any, session_id: uuid.UUID, user_id: str, opt_out: bool, status: str
    ) -> None:
        """Record the session's analytics opt-out and initial status (``user`` when created
        with a name of its user; never turned back to ``pending``), in the unit of work
        ``uow`` (written with its last statement)."""
        ...

    async def attempt_rows(self, conn: Any, user_id: str) -> list[dict[str, Any]]:
        """Every naming attempt of ``user_id``'s sessions (the figures analytics sum up)."""
        ...

    async def set_named(
        self, uow: Any, session_id: uuid.UUID, name: str, language: str | None
    ) -> None:
        """Mark the session named automatically, in the unit of work ``uow`` (written with its
        last statement)."""
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
