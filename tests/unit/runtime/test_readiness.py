"""Readiness answers within its timeout whatever the database does (no servers)."""

from __future__ import annotations

import asyncio
import time

from parley_runtime import RuntimeSettings, Service
from parley_runtime import service as service_module


class FrozenPool:
    """A pool whose query never answers and whose cancellation waits for the server too."""

    async def fetchval(self, _sql: str) -> object:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(5)  # cancelling a query waits for a frozen server
            raise


class FailingPool:
    async def fetchval(self, _sql: str) -> object:
        raise ConnectionError("refused")


async def test_readiness_answers_in_time_while_the_database_is_frozen() -> None:
    service = Service("probe", RuntimeSettings())
    service._pool = FrozenPool()  # type: ignore[assignment]
    started = time.perf_counter()
    checks = await service.readiness()
    elapsed = time.perf_counter() - started
    assert checks == {"database": False, "nats": False}
    assert elapsed < service_module.READINESS_TIMEOUT_S + 0.5, elapsed


async def test_readiness_reports_a_failing_database_at_once() -> None:
    service = Service("probe", RuntimeSettings())
    service._pool = FailingPool()  # type: ignore[assignment]
    started = time.perf_counter()
    assert (await service.readiness())["database"] is False
    assert time.perf_counter() - started < 0.5
