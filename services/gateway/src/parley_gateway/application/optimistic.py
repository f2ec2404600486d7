"""Running a use case in optimistic units of work: the session read without its lock and saved
over the version read (see :class:`~parley_gateway.domain.ports.UnitOfWorkFactory`), read and
decided again when another save of it came first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

from parley_runtime import retried

from ..domain.ports import ConcurrentUpdate

#: Optimistic tries of a use case before it takes the session's lock.
OPTIMISTIC_TRIES = 3

U = TypeVar("U")
T = TypeVar("T")


async def optimistically(
    open_unit: Callable[[], AbstractAsyncContextManager[U]], work: Callable[[U], Awaitable[T]]
) -> T:
    """``work(uow)`` in a unit of work that ``open_unit()`` opens (an optimistic one), opened
    and done again from a new read when another save of the session came first, up to
    :data:`OPTIMISTIC_TRIES` times in all (:func:`parley_runtime.retried`); returns what
    ``work`` returned.

    Raises:
        ConcurrentUpdate: another save came first at every try (the caller then takes the lock).
    """

    async def attempt(_: int) -> T:
        async with open_unit() as uow:
            return await work(uow)

    return await retried(
        attempt, tries=OPTIMISTIC_TRIES, conflict=ConcurrentUpdate,
        note="session saved meanwhile; reading it again",
    )  # fmt: skip
