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
from parley_namer.domain.ports import Exchanges, NamingInput, NamingState
from parley_runtime import WriteConflict

#: The columns of an attempt row that analytics read (as the PostgreSQL store selects them).
ANALYTICS_COLUMNS = (
    "session_id", "purpose", "namer", "outcome", "language", "words", "duration_ms",
    "input_tokens", "output_tokens", "model_calls", "fallback_reason",
)  # fmt: skip


class FakeNamingStore:
    """Naming states, exchanges and attempt rows in dictionaries, kept as the PostgreSQL store
    keeps them (first write of an exchange wins, contents cut, attempts counted on the state);
    ``gone`` and ``handled`` stand for the chassis' tombstones and inbox, and ``calls`` lists
    the methods called (one round trip each)."""

    def __init__(self) -> None:
        self.states: dict[uuid.UUID, NamingState] = {}
        self.kept: dict[uuid.UUID, Exchanges] = {}
        self.attempts: list[dict[str, Any]] = []
        self.gone: set[uuid.UUID] = set()  # sessions deleted (the chassis' tombstones)
        self.handled: set[uuid.UUID] = set()  # events in the consumer's inbox
        self.calls: list[str] = []  # the round trips asked, by method

    async def keep(
        self,
        conn: Any,
        session_id: uuid.UUID,
        user_id: str,
        exchange: tuple[int, Turn] | None = None,
        *,
        lock: bool = False,
    ) -> NamingState | None:
        self.calls.append("keep")
        self.states.setdefault(session_id, NamingState(session_id, user_id))
        if exchange is not None:
            turn, message = exchange
            kept = self.kept.setdefault(session_id, {})
            kept.setdefault(
                (turn, message.role), Turn(message.role, message.content[:MAX_INPUT_CHARS])
            )
        return self.states[session_id] if lock else None

    async def keep_last(
        self, uow: Any, session_id: uuid.UUID, user_id: str, exchange: tuple[int, Turn] | None
    ) -> None:
        await self.keep(uow, session_id, user_id, exchange)
        self.calls[-1] = "keep_last"

    async def keep_unattempted(
        self, uow: Any, session_id: uuid.UUID, exchange: tuple[int, Turn]
    ) -> None:
        self.calls.append("keep_unattempted")
        state = self.states.get(session_id)
        if state is None or state.status != "pending" or state.attempts:
            raise WriteConflict("the naming state is not new")
        await self.keep(uow, session_id, state.user_id, exchange)
        self.calls.pop()

    async def settle_attempt(
        self,
        uow: Any,
        state: NamingState,
        exchange: tuple[int, Turn],
        attempt: dict[str, Any],
        named: tuple[str, str | None] | None,
    ) -> int:
        self.calls.append("settle_attempt")
        if self.states.get(state.session_id) != state:
            raise WriteConflict("the naming state changed since it was read")
        await self.keep(uow, state.session_id, state.user_id, exchange)
        number = await self.record_attempt(uow, state.session_id, **attempt)
        if named is not None:
            await self.set_named(uow, state.session_id, *named)
        del self.calls[-3:]
        return number

    async def naming_input(
        self, conn: Any, session_id: uuid.UUID, *, consumer: str, event_id: uuid.UUID
    ) -> NamingInput:
        self.calls.append("naming_input")
        return NamingInput(
            gone=session_id in self.gone,
            handled=event_id in self.handled,
            state=self.states.get(session_id),
            kept=dict(self.kept.get(session_id, {})),
        )

    async def record_attempt(self, conn: Any, session_id: uuid.UUID, **row: Any) -> int:
        self.calls.append("record_attempt")
        if session_id not in self.states:
            raise LookupError(f"session {session_id} has no naming state")
        state = self.states[session_id]
        self.states[session_id] = dataclasses.replace(state, attempts=state.attempts + 1)
        row = {"session_id": session_id, "attempt": state.attempts + 1, **row}
        self.attempts.append(row)
        return int(row["attempt"])

    async def set_analytics_opt_out(
        self, uow: Any, session_id: uuid.UUID, user_id: str, opt_out: bool, status: str
    ) -> None:
        self.calls.append("set_analytics_opt_out")
        state = self.states.get(session_id) or NamingState(session_id, user_id, status)  # type: ignore[arg-type]
        kept_status = "user" if status == "user" else state.status
        self.states[session_id] = dataclasses.replace(
            state, analytics_opt_out=opt_out, status=kept_status
        )

    async def attempt_rows(self, conn: Any, user_id: str) -> list[dict[str, Any]]:
        self.calls.append("attempt_rows")
        return [
            {column: row.get(column) for column in ANALYTICS_COLUMNS}
            for row in self.attempts
            if row.get("user_id") == user_id
        ]

    async def set_named(
        self, uow: Any, session_id: uuid.UUID, name: str, language: str | None
    ) -> None:
        self.calls.append("set_named")
        if session_id in self.states:
            self.states[session_id] = dataclasses.replace(
                self.states[session_id], status="named", name=name, language=language
            )

    async def set_user_named(
        self, conn: Any, session_id: uuid.UUID, user_id: str, name: str
    ) -> None:
        self.calls.append("set_user_named")
        state = self.states.get(session_id) or NamingState(session_id, user_id)
        self.states[session_id] = dataclasses.replace(state, status="user", name=name)

    async def erase_session(self, conn: Any, session_id: uuid.UUID) -> None:
        self.calls.append("erase_session")
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


@dataclass
class NamerContext(FakeContext):
    """The handler context of the namer's consumer (its name reads its inbox)."""

    consumer: str = "namer"


@pytest.fixture
def ctx() -> NamerContext:
    return NamerContext()
