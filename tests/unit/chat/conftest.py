"""Fixtures of chat's unit tests: in-memory stand-ins for what its use cases talk to, the turn
store (the :class:`~parley_chat.domain.ports.TurnStore` port) and the model router; the handler
context is the shared one of ``tests/handler_fakes.py``."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from handler_fakes import FakeContext
from parley_chat.adapters.echo import EchoUpstream
from parley_chat.application.turns import Turns
from parley_chat.domain.ports import LockedSession
from parley_chat.domain.turns import TurnLedger
from parley_chat.domain.upstream import (
    TranscriptTurn,
    UnknownModel,
    UpstreamAI,
    UpstreamError,
    UpstreamReply,
)
from parley_runtime import WriteConflict


class FakeTurnStore:
    """Ledgers and transcripts in dictionaries; ``locked`` holds sessions another process has,
    ``gone`` the deleted ones."""

    def __init__(self) -> None:
        self.ledgers: dict[uuid.UUID, TurnLedger] = {}
        self.transcripts: dict[uuid.UUID, list[tuple[int, str, str]]] = {}
        self.locked: set[uuid.UUID] = set()
        self.gone: set[uuid.UUID] = set()
        self.opened: list[str] = []
        self.interleave: Callable[[FakeTurnStore], None] | None = None

    async def load(self, conn: Any, session_id: uuid.UUID, *, for_update: bool = False):  # noqa: ANN201
        ledger = self.ledgers.get(session_id)
        return copy.deepcopy(ledger) if ledger else None

    async def save(self, conn: Any, ledger: TurnLedger) -> None:
        """Over the version ``ledger`` was read at, as the store does; ``interleave`` runs first
        (say, a give-up settling a turn meanwhile)."""
        if self.interleave is not None:
            self.interleave(self)
        stored = self.ledgers.get(ledger.session_id)
        if (stored.version if stored else 0) != ledger.version:  # 0: none may be stored
            raise WriteConflict("the ledger changed since it was read")
        ledger.version += 1
        self.ledgers[ledger.session_id] = copy.deepcopy(ledger)

    async def save_opened(self, conn: Any, *, session_id, user_id, provider, model, upstream_id):  # noqa: ANN001, ANN201
        ledger = self.ledgers.get(session_id) or TurnLedger(session_id, user_id, provider, model)
        ledger.continue_on(upstream_id, opened=True)
        ledger.version += 1
        self.ledgers[session_id] = ledger
        self.opened.append(upstream_id)
        return ledger.opened_count, ledger.version

    async def save_turn(  # noqa: ANN201
        self, uow: Any, ledger: TurnLedger, turn, user, assistant, *, hand_over=None  # noqa: ANN001
    ):
        await self.save(uow, ledger)
        kept = self.transcripts.setdefault(ledger.session_id, [])
        if all(t != turn for t, _, _ in kept):
            kept.append((turn, user, assistant))

    async def transcript(self, conn: Any, session_id: uuid.UUID) -> list[TranscriptTurn]:
        out: list[TranscriptTurn] = []
        for _, user, assistant in sorted(self.transcripts.get(session_id, [])):
            out += [TranscriptTurn("user", user), TranscriptTurn("assistant", assistant)]
        return out

    async def erase_session(self, conn: Any, session_id: uuid.UUID) -> None:
        self.ledgers.pop(session_id, None)
        self.transcripts.pop(session_id, None)

    @asynccontextmanager
    async def session_lock(
        self, pool: Any, session_id: uuid.UUID
    ) -> AsyncIterator[LockedSession | None]:
        if session_id in self.locked:
            yield None
        else:
            yield LockedSession(session_id in self.gone, await self.load(pool, session_id))


class FakeRouter:
    """Every catalogue model in ``models`` answered by its adapter; others are unknown."""

    def __init__(self, **models: UpstreamAI) -> None:
        self.models = models

    def for_model(self, name: str) -> UpstreamAI:
        if name not in self.models:
            raise UnknownModel(f"the model {name!r} is not in the catalogue")
        return self.models[name]

    def slot(self, name: str) -> asyncio.Semaphore:
        return asyncio.Semaphore(1)


class CountingEcho(EchoUpstream):
    """The echo upstream, counting its calls; ``fail`` makes every send fail for good, and
    ``reply`` replaces the text of every answer."""

    def __init__(self) -> None:
        super().__init__(delta_words=2)
        self.opened = 0
        self.sent: list[str | None] = []
        self.fail = False
        self.reply: str | None = None

    async def open_session(self, **kwargs):  # noqa: ANN003, ANN201
        self.opened += 1
        return await super().open_session(**kwargs)

    async def send(self, **kwargs) -> UpstreamReply:  # noqa: ANN003
        self.sent.append(kwargs["upstream_id"])
        if self.fail:
            raise UpstreamError("content refused", retryable=False, kind="bad_request")
        answer = await super().send(**kwargs)
        return UpstreamReply(self.reply) if self.reply is not None else answer


@pytest.fixture
def upstream() -> CountingEcho:
    return CountingEcho()


@pytest.fixture
def store() -> FakeTurnStore:
    return FakeTurnStore()


@pytest.fixture
def turns(upstream: CountingEcho, store: FakeTurnStore) -> Turns:
    return Turns(FakeRouter(**{"echo-1": upstream}), store, turn_deadline_s=1, retry_base_s=0)


@pytest.fixture
def ctx() -> FakeContext:
    return FakeContext()
