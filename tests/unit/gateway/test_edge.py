"""The gateway's HTTP edge without servers: unexpected errors and oversized bodies."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from parley_gateway.api.edge import MAX_LOGGED_CHARS, BodyLimit, ErrorBoundary
from structlog.testing import capture_logs

LIMIT = 1_000


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/boom")
    async def boom() -> None:
        big_local = ["x" * 1000] * 10_000  # what a traceback with locals would print
        raise RuntimeError("kaput " + "y" * 10_000 + str(len(big_local)))

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    app.add_middleware(BodyLimit, max_bytes=LIMIT)
    app.add_middleware(ErrorBoundary)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_an_unexpected_error_is_a_500_problem_with_a_correlation_id_in_milliseconds(
    client: httpx.AsyncClient,
) -> None:
    with capture_logs() as logs:
        started = time.perf_counter()
        r = await client.get("/boom")
        elapsed = time.perf_counter() - started
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 500 and body["correlation_id"] == r.headers["x-correlation-id"]
    assert "kaput" not in r.text  # the error's text stays in the log
    assert elapsed < 0.1, elapsed
    [line] = [entry for entry in logs if entry["event"] == "unexpected error"]
    assert line["correlation_id"] == body["correlation_id"] and line["error_type"] == "RuntimeError"
    assert "exc_info" not in line  # no traceback, so no locals to render
    assert len(line["error"]) == MAX_LOGGED_CHARS and line["where"].endswith("in boom")


@pytest.mark.parametrize("size", [0, 10, LIMIT])
async def test_a_body_within_the_limit_reaches_the_route_whole(
    client: httpx.AsyncClient, size: int
) -> None:
    r = await client.post("/echo", content=b"a" * size)
    assert r.status_code == 200 and r.json() == {"size": size}


async def test_a_declared_body_over_the_limit_is_a_413_problem(client: httpx.AsyncClient) -> None:
    r = await client.post("/echo", content=b"a" * (LIMIT + 1))
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 413


async def test_a_chunked_body_over_the_limit_is_a_413_problem(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(50):
            yield b"b" * 100

    r = await client.post("/echo", content=chunks())
    assert "content-length" not in r.request.headers
    assert r.status_code == 413 and r.json()["title"] == "Request body too large"
