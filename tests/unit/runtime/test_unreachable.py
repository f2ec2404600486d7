"""Which handler errors the bus treats as a database outage (redelivered without spending the
failure budget) rather than as a failure of the event."""

from __future__ import annotations

import asyncpg
import pytest
from parley_runtime.db import database_unreachable


class StoreDown(RuntimeError):
    """A store's own wrapper of a lower error, as the gateway's ``StorageUnavailable`` is."""


def wrapped(error: BaseException) -> BaseException:
    try:
        try:
            raise error
        except BaseException as exc:
            raise StoreDown("the database is unavailable") from exc
    except StoreDown as outer:
        return outer


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(),
        ConnectionResetError(),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.InterfaceError("the underlying connection is closed"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_lost_or_refused_database_is_an_outage_however_wrapped(error: BaseException) -> None:
    assert database_unreachable(error)
    assert database_unreachable(wrapped(error))


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad data"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.NumericValueOutOfRangeError("out of range"),
        wrapped(KeyError("missing")),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_of_the_event_or_the_code_are_failures(error: BaseException) -> None:
    assert not database_unreachable(error)
