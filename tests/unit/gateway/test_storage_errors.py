"""The gateway's unit of work turns a database that is out of reach into StorageUnavailable (a
503 problem), and leaves every other error as it is (no servers: a fake chassis transaction)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace

import asyncpg
import pytest
from parley_gateway.adapters.unit_of_work import over
from parley_gateway.domain.ports import StorageUnavailable


def _transaction(on_exit: BaseException | None = None) -> object:
    @asynccontextmanager
    async def scope() -> AsyncIterator[object]:
        yield SimpleNamespace(conn=None, optimistic=False)
        if on_exit is not None:  # like a COMMIT on a connection the server dropped
            raise on_exit

    return scope()


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError(),
        ConnectionRefusedError(),
        FileNotFoundError("/tmp/.s.PGSQL.5432"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    ],
    ids=["timeout", "refused", "no-socket", "lost", "starting-up", "shutdown"],
)
async def test_an_unreachable_database_is_storage_unavailable(error: BaseException) -> None:
    with pytest.raises(StorageUnavailable) as raised:
        async with over(_transaction()):
            raise error
    assert raised.value.__cause__ is error


async def test_a_connection_closed_under_the_transaction_is_storage_unavailable() -> None:
    closed = asyncpg.InterfaceError(
        "cannot call Transaction.__aexit__(): the underlying connection is closed"
    )
    with pytest.raises(StorageUnavailable):
        async with over(_transaction(on_exit=closed)):
            pass
    confused = asyncpg.InternalClientError("cannot switch to state 15; another operation (2)")
    with pytest.raises(StorageUnavailable):
        async with over(_transaction(on_exit=confused)):
            pass


async def test_an_error_raised_while_handling_a_lost_connection_is_storage_unavailable() -> None:
    released = asyncpg.InterfaceError("connection has been released back to the pool")
    try:
        raise asyncpg.ConnectionDoesNotExistError("connection was closed")
    except asyncpg.ConnectionDoesNotExistError:
        with pytest.raises(StorageUnavailable):
            async with over(_transaction(on_exit=released)):
                pass


async def test_other_errors_are_left_as_they_are() -> None:
    misuse = asyncpg.InterfaceError("another operation is in progress")
    with pytest.raises(asyncpg.InterfaceError):
        async with over(_transaction(on_exit=misuse)):
            pass
    with pytest.raises(asyncpg.UniqueViolationError):
        async with over(_transaction()):
            raise asyncpg.UniqueViolationError("duplicate key")
    with pytest.raises(ValueError):
        async with over(_transaction()):
            raise ValueError("a bug")
