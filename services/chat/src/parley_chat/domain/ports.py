"""The chat service's ports: what answering a turn needs kept (:class:`TurnStore`) and which
upstream answers a model (:class:`UpstreamRouter`), as Protocols.

Every method takes the connection (or pool) to use as its first argument, so a caller decides
what runs in one transaction; a fake for unit tests may ignore it. The PostgreSQL adapter is
:mod:`parley_chat.adapters.store` (a module that satisfies this Protocol as it is).
"""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from .turns import TurnLedger
from .upstream import TranscriptTurn, UpstreamAI


class HeldLock(Protocol):
    """A session lock held by the store on a connection of its own: a unit of work on ``conn``
    can hand it over (see :meth:`TurnStore.save_turn`)."""

    conn: Any


@dataclass(frozen=True)
class LockedSession:
    """A session whose lock this process holds, as read once the lock was taken: whether it was
    deleted (``gone``) and its ledger (None before its first turn); ``hold``, the store's
    handle of the held lock (its ``conn`` holds it), which the statement settling the turn may
    hand over."""

    gone: bool
    ledger: TurnLedger | None
    hold: HeldLock | None = None


class TurnStore(Protocol):
    """Turn ledgers, transcripts and the per-session lock of chat processes."""

    async def load(
        self, conn: Any, session_id: uuid.UUID, *, for_update: bool = False
    ) -> TurnLedger | None:
        """The session's ledger (locked for the transaction with ``for_update``), or None."""
        ...

    async def save(self, conn: Any, ledger: TurnLedger) -> None:
        """Store ``ledger`` over the version it was read at (then one up; a new ledger only
        where none is stored); raises the chassis' ``WriteConflict`` otherwise (nothing is
        written)."""
        ...

    async def save_opened(
        self,
        conn: Any,
        *,
        session_id: uuid.UUID,
        user_id: str,
        provider: str,
        model: str,
        upstream_id: str,
    ) -> tuple[int, int]:
        """Record a newly opened upstream session at once, moving the ledger's version on;
        ``(how often one was opened, the stored version now)``."""
        ...

    async def save_turn(
        self,
        uow: Any,
        ledger: TurnLedger,
        turn: int,
        user: str,
        assistant: str,
        *,
        hand_over: HeldLock | None = None,
    ) -> None:
        """Store ``ledger`` over the version it was read at and keep both messages of its
        settled ``turn``, in the unit of work ``uow`` (written with its last statement, which
        raises the chassis' ``WriteConflict`` when the stored row is at another version).
        ``hand_over``: a :attr:`LockedSession.hold` on ``uow``'s connection, released by that
        statement once it stands, and only then."""
        ...

    async def transcript(self, conn: Any, session_id: uuid.UUID) -> list[TranscriptTurn]:
        """The session's earlier messages in order."""
        ...

    async def erase_session(self, conn: Any, session_id: uuid.UUID) -> None:
        """Erase everything kept of the session."""
        ...

    def session_lock(
        self, pool: Any, session_id: uuid.UUID
    ) -> AbstractAsyncContextManager[LockedSession | None]:
        """Hold the session's lock across chat processes for the block, if free, and read the
        session as it stands then; yields None when another holder has the lock."""
        ...


class UpstreamRouter(Protocol):
    """The upstream adapter of each model, and the slot that bounds its calls in flight."""

    def for_model(self, name: str) -> UpstreamAI:
        """The adapter answering model ``name``.

        Raises:
            UnknownModel: not in the catalogue, or not usable here.
        """
        ...

    def slot(self, name: str) -> AbstractAsyncContextManager[Any]:
        """Held around each call to model ``name`` (a semaphore per model)."""
        ...
