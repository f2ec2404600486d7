"""Why a unit of work's write is refused, as exceptions: its event was handled already, its
session was deleted, or a row it read changed before it wrote (an optimistic write's conflict).

The last statement of a unit of work says so by raising in PostgreSQL (``refuse_write``, see
:func:`~parley_runtime.statements.refusals`), so that nothing of it is written even without a
transaction; :func:`refused` turns that error into the exception it means.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import asyncpg
import structlog
from parley_contracts import Event

from .statements import LastWrite

log = structlog.get_logger(__name__)

#: The start of the message ``refuse_write`` raises with (chassis migration 0003).
REFUSED_PREFIX = "parley refused: "

T = TypeVar("T")


class AlreadyProcessed(Exception):
    """The inbox already holds this consumer's mark for the event: the effect exists; ack it."""


class SessionGone(Exception):
    """The event's session was deleted: its effect must not be written; ack it unhandled."""


class WriteConflict(Exception):
    """A row the unit of work read without a lock changed before its guarded write (optimistic
    concurrency, see :meth:`~parley_runtime.UnitOfWork.write_last`): nothing was written.
    Read again and decide again (or take the lock)."""


def refusal(deleted: bool, marked: bool, consumer: str, event: Event) -> Exception | None:
    """What an inbox mark's outcome means, if anything: :class:`SessionGone` when ``deleted``
    (the event's session was deleted), :class:`AlreadyProcessed` when not ``marked``
    (``consumer`` processed ``event`` before)."""
    if deleted:
        return SessionGone(f"session {event.session_id} was deleted")
    if not marked:
        return AlreadyProcessed(f"{consumer} already processed event {event.event_id}")
    return None


def refuse(deleted: bool, marked: bool, consumer: str, event: Event) -> None:
    """Raise what an inbox mark's outcome means (:func:`refusal`), if anything.

    Raises:
        SessionGone, AlreadyProcessed: as :func:`refusal` says.
    """
    meant = refusal(deleted, marked, consumer, event)
    if meant is not None:
        raise meant


def refused(exc: BaseException, late: tuple[str, Event] | None) -> Exception | None:
    """The exception a refused last statement's error ``exc`` means (``late``: the inbox mark
    it carried, as ``(consumer, event)``), or None when ``exc`` is no refusal."""
    if not isinstance(exc, asyncpg.RaiseError):
        return None
    message = str(exc)
    if not message.startswith(REFUSED_PREFIX):
        return None
    reason = message.removeprefix(REFUSED_PREFIX)
    if reason == "conflict":
        return WriteConflict("a row read for this write changed meanwhile; nothing was written")
    if late is not None and reason in ("gone", "duplicate"):
        return refusal(reason == "gone", reason != "duplicate", *late)
    return None


@contextmanager
def raised_as_meant(late: tuple[str, Event] | None = None) -> Iterator[None]:
    """Within the block, PostgreSQL's refusal of a statement (see :func:`refused`; ``late``:
    the inbox mark it carried) is raised as the exception it means; other errors pass."""
    try:
        yield
    except asyncpg.RaiseError as exc:
        raise (refused(exc, late) or exc) from exc


async def write_alone(conn: asyncpg.Connection, write: LastWrite) -> None:
    """Send ``write`` (a store's last write) as a statement of its own on ``conn``.

    Raises:
        WriteConflict: its guard found its row changed; nothing of it is written.
    """
    with raised_as_meant():
        await conn.execute(write.alone, *write.args)


async def retried(
    attempt: Callable[[int], Awaitable[T]],
    *,
    tries: int,
    conflict: type[Exception] = WriteConflict,
    note: str | None = None,
) -> T:
    """``attempt(n)`` for try ``n`` = 0, 1, ..., tried again while it raises ``conflict`` (a
    write refused because what it read changed: each try reads again), ``tries`` times in all;
    ``note`` is logged (INFO) before each new try. Returns what the try that went through
    returned.

    Raises:
        conflict: at the last try. Anything else ``attempt`` raises, at once.
    """
    for n in range(tries):
        try:
            return await attempt(n)
        except conflict:
            if n == tries - 1:
                raise
            if note:
                log.info(note)
    raise AssertionError("unreachable: the last try returns or raises")
