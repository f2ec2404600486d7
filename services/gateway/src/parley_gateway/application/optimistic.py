"""Running a use case in optimistic units of work: the session read without its lock and saved
over the version read (see :class:`~parley_gateway.domain.ports.UnitOfWorkFactory`), read and
decided again when another save of it came first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

import structlog

from ..domain.ports import ConcurrentUpdate

log = structlog.get_logger(__name__)

#: Optimistic tries of a use case before it takes the session's lock.
OPTIMISTIC_TRIES = 3

U = TypeVar("U")
T = TypeVar("T")


async def optimistically(
    open_unit: Callable[[], AbstractAsyncContextManager[U]], work: Callable[[U], Awaitable[T]]
) -> T:
    """``work(uow)`` in a unit of work that ``open_unit()`` opens (an optimistic one), opened
    and done again from a new read when another save of the session came first, up to
    :data:`OPTIMISTIC_TRIES` times in all; returns what ``work`` returned.

    Raises:
        ConcurrentUpdate: another save came first at every try (the caller then takes the lock).
    """
    for tries_left in range(OPTIMISTIC_TRIES - 1, -1, -1):
        try:
            async with open_unit() as uow:
                return await work(uow)
        except ConcurrentUpdate:
            if not tries_left:
                raise
            log.info("session saved meanwhile; reading it again")
    raise AssertionError("unreachable: the last try returns or raises")
