"""Fixtures of the namer's unit tests: in-memory stand-ins for what its use cases talk to: the
naming store (the :class:`~parley_namer.domain.ports.NamingStore` port), the namers and the
handler context (units of work that collect what they publish and the sessions they forget)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from handler_fakes import FakeContext
from parley_namer.application.naming import Naming
from parley_namer.domain.names import MAX_INPUT_CHARS, Turn
from parley_namer.domain.policy import Proposal
from parley_namer.domain.ports import Exchanges, NamingState

#: The columns of an attempt row that analytics read (as the PostgreSQL store selects them).
ANALYTICS_COLUMNS = (
    "session_id", "purpose", "namer", "outcome", "language", "words", "duration_ms",
    "input_tokens", "output_tokens", "model_calls", "fallback_reason",
)  # fmt: skip


class FakeNamingStore:
    """Naming states, exchanges and attempt rows in dictionaries, kept as the PostgreSQL store
    keeps them (first write of an exchange wins, contents cut, attempts counted on the state)."""

    def __init__(self) -> None:
        self.states: dict[uuid.UUID, NamingState] = {}
        self.kept: dict[uuid.UUID, Exchanges] = {}
        self.attempts: list[dict[str, Any]] = []

    async def ensure_state(
        self, conn: Any, session_id: uuid.UUID, user_id: str, status: str = "pending"
    ) -> None:
        self.states.setdefault(session_id, NamingState(session_id, user_id, status))  # type: ignore[arg-type]

    async def get_state(
        self, conn: Any, session_id: uuid.UUID, *, for_update: bool = False
    ) -> NamingState | None:
        return self.states.get(session_id)

    async def add_exchange(
        self, conn: Any, session_id: uuid.UUID, turn: int, role: str, content: str
    ) -> None:
        kept = self.kept.setdefault(session_id, {})
        kept.setdefault((turn, role), Turn(role, content[:MAX_INPUT_CHARS]))

    async def exchanges(self, conn: Any, session_id: uuid.UUID) -> Exchanges:
        return dict(self.kept.get(session_id, {}))

    async def record_attempt(self, conn: Any, session_id: uuid.UUID, **row: Any) -> int:
        state = self.states[session_id]
        self.states[session_id] = dataclasses.replace(state, attempts=state.attempts + 1)
        row = {"session_id": session_id, "attempt": state.attempts + 1, **row}
        self.attempts.append(row)
        return int(row["attempt"])

    async def set_analytics_opt_out(
        self, conn: Any, session_id: uuid.UUID, user_id: str, opt_out: bool, status: str
    ) -> None:
        state = self.states.get(session_id) or NamingState(session_id, user_id, status)  # type: ignore[arg-type]
        kept_status = "user" if status == "user" else state.status
        self.states[session_id] = dataclasses.replace(
            state, analytics_opt_out=opt_out, status=kept_status
        )

    async def attempt_rows(self, conn: Any, user_id: str) -> list[dict[str, Any]]:
        return [
            {column: row.get(column) for column in ANALYTICS_COLUMNS}
            for row in self.attempts
            if row.get("user_id") == user_id
        ]

    async def set_named(
        self, conn: Any, session_id: uuid.UUID, name: str, language: str | None
    ) -> None:
        if session_id in self.states:
            self.states[session_id] = dataclasses.replace(
                self.states[session_id], status="named", name=name, language=language
            )

    async def set_user_named(
        self, conn: Any, session_id: uuid.UUID, user_id: str, name: str
    ) -> None:
        state = self.states.get(session_id) or NamingState(session_id, user_id)
        self.states[session_id] = dataclasses.replace(state, status="user", name=name)

    async def erase_session(self, conn: Any, session_id: uuid.UUID) -> None:
        self.states.pop(session_id, None)
        self.kept.pop(session_id, None)
        self.attempts = [a for a in self.attempts if a["session_id"] != session_id]


class FakeNamer:
    """Proposes ``titles`` (up to ``count``) in ``language``; ``fail`` makes it raise, and
    ``meanwhile`` runs while it is proposing (what other events change in the meantime).
    ``calls`` keeps the turns of every call."""

    def __init__(self, *titles: str, namer: str = "llm:fake", language: str = "en") -> None:
        self.titles = titles
        self.namer = namer
        self.language = language
        self.fail: Exception | None = None
        self.fallback_reason: str | None = None
        self.meanwhile: Callable[[], Awaitable[None]] | None = None
        self.calls: list[list[Turn]] = []

    async def propose(
        self, turns: Sequence[Turn], *, count: int = 1, avoid: Sequence[str] = ()
    ) -> Proposal:
        self.calls.append(list(turns))
        if self.meanwhile is not None:
            await self.meanwhile()
        if self.fail is not None:
            raise self.fail
        return Proposal(
            titles=tuple(t for t in self.titles if t not in avoid)[:count],
            language=self.language,
            namer=self.namer,
            input_tokens=10,
            output_tokens=3,
            model_calls=1,
            fallback_reason=self.fallback_reason,
        )


@dataclass
class Observed:
    """The metrics of every attempt: ``(purpose, outcome, namer)``."""

    calls: list[tuple[str, str, str | None]] = field(default_factory=list)

    def __call__(self, purpose: str, outcome: str, proposal: Proposal | None, ms: int) -> None:
        self.calls.append((purpose, outcome, proposal.namer if proposal else None))


@pytest.fixture
def store() -> FakeNamingStore:
    return FakeNamingStore()


@pytest.fixture
def namer() -> FakeNamer:
    return FakeNamer("Sorting Lists in Python", "Python List Sorting", "Sorted in Python")


@pytest.fixture
def offline() -> FakeNamer:
    return FakeNamer("Python List Sort", namer="offline")


@pytest.fixture
def observed() -> Observed:
    return Observed()


@pytest.fixture
def naming(
    store: FakeNamingStore, namer: FakeNamer, offline: FakeNamer, observed: Observed
) -> Naming:
    return Naming(store, namer, offline, observed, attempt_timeout_s=5)


@pytest.fixture
def ctx() -> FakeContext:
    return FakeContext()
