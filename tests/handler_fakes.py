"""In-memory stand-ins for what a consumer's use cases get from the chassis, for unit tests of
any service: a handler context whose units of work commit what they publish (nothing when the
block raises), and the bus connection that collects live publishes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from parley_contracts import Event, Subjects


@dataclass
class FakeUnitOfWork:
    """A unit of work's events (``published``) and forgotten sessions; ``conn`` is unused."""

    conn: Any = None
    published: list[Event] = field(default_factory=list)
    forgotten: list[uuid.UUID] = field(default_factory=list)
    committed: list[Callable[[], None]] = field(default_factory=list)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` at the commit."""
        self.committed.append(callback)

    async def publish(self, event: Event) -> None:
        """Keep ``event`` for the commit."""
        self.published.append(event)

    async def forget_session(self, session_id: uuid.UUID) -> None:
        """Keep the session as forgotten for the commit."""
        self.forgotten.append(session_id)


class FakeConnection:
    """The bus connection: what was published on core NATS (e.g. live reply deltas)."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    async def publish(self, subject: str, data: bytes) -> None:
        """Keep ``(subject, data)``."""
        self.published.append((subject, data))


@dataclass
class FakeContext:
    """A handler context whose units of work commit into ``published`` and ``forgotten``
    (nothing when the block raises); ``broker.connection`` collects core NATS publishes."""

    subjects: Subjects = field(default_factory=lambda: Subjects("unit"))
    pool: Any = None
    delivery: int = 1
    published: list[Event] = field(default_factory=list)
    forgotten: list[uuid.UUID] = field(default_factory=list)
    connection: FakeConnection = field(default_factory=FakeConnection)
    optimistic_units: int = 0

    @property
    def broker(self) -> Any:
        """The broker, whose ``connection`` is :attr:`connection`."""
        return self

    @asynccontextmanager
    async def unit_of_work(
        self,
        event: Event | None = None,
        *,
        late_mark: bool = False,
        optimistic: bool = False,
        on: Any = None,
    ) -> AsyncIterator[FakeUnitOfWork]:
        """A unit of work committed when the block ends without raising (no inbox here, so
        ``late_mark`` changes nothing; ``optimistic`` ones are counted in
        :attr:`optimistic_units`; no connections here, so ``on`` changes nothing)."""
        self.optimistic_units += optimistic
        uow = FakeUnitOfWork()
        yield uow
        self.published += uow.published
        self.forgotten += uow.forgotten
        for callback in uow.committed:
            callback()

    def transaction(self) -> Any:
        """A unit of work without an inbox mark (the same here)."""
        return self.unit_of_work()
