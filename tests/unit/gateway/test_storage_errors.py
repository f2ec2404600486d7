"""Which database errors the gateway's unit of work reports as ``StorageUnavailable`` (a 503
problem at the edge) and which it lets through as bugs (a 500)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import pytest
from parley_gateway.adapters.unit_of_work import over
from parley_gateway.domain.ports import StorageUnavailable


@dataclass
class FakeConnection:
    closed: bool

    def is_closed(self) -> bool:
        return self.closed


@dataclass
class FakeTransaction:
    conn: FakeConnection


def transaction(closed: bool):  # noqa: ANN201 - an async context manager
    @asynccontextmanager
    async def scope() -> AsyncIterator[FakeTransaction]:
        yield FakeTransaction(FakeConnection(closed))

    return scope()


LOST = [
    asyncpg.InterfaceError(
        "cannot call Transaction.__aexit__(): the underlying connection is closed"
    ),
    asyncpg.exceptions.InternalClientError(
        "cannot switch to state 15; another operation (2) is in progress"
    ),
]


@pytest.mark.parametrize("error", LOST, ids=type)
async def test_a_connection_lost_mid_transaction_is_storage_unavailable(error: Exception) -> None:
    with pytest.raises(StorageUnavailable, match="connection was lost") as raised:
        async with over(transaction(closed=True)):  # type: ignore[arg-type]
            raise error
    assert raised.value.__cause__ is error


@pytest.mark.parametrize("error", LOST, ids=type)
async def test_the_same_error_on_an_open_connection_is_a_bug_raised_as_it_is(
    error: Exception,
) -> None:
    with pytest.raises(type(error)):
        async with over(transaction(closed=False)):  # type: ignore[arg-type]
            raise error


def closing_transaction(error: Exception):  # noqa: ANN201 - an async context manager
    """A transaction whose commit meets ``error``, as asyncpg reports a connection cut then."""

    @asynccontextmanager
    async def scope() -> AsyncIterator[FakeTransaction]:
        yield FakeTransaction(FakeConnection(closed=False))
        raise error

    return scope()


@pytest.mark.parametrize("error", LOST, ids=type)
async def test_a_commit_on_a_lost_connection_is_storage_unavailable(error: Exception) -> None:
    with pytest.raises(StorageUnavailable, match="connection was lost"):
        async with over(closing_transaction(error)):  # type: ignore[arg-type]
            pass


@pytest.mark.parametrize("error", [ConnectionRefusedError(), TimeoutError()], ids=type)
async def test_an_unreachable_server_is_storage_unavailable(error: Exception) -> None:
    with pytest.raises(StorageUnavailable, match="unavailable"):
        async with over(transaction(closed=False)):  # type: ignore[arg-type]
            raise error
