"""Fixtures of the end-to-end tests: one stack of real servers and services per test run."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from parley_runtime.logging import configure_logging
from stack import Client, Servers, Stack


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    configure_logging("tests", env="dev", level="INFO")
    # Not under pytest's own temporary folder: every pytest run on the machine resets that
    # folder's mode to 0700, which would lock the embedded PostgreSQL (run as its own system user
    # when the tests run as root) out of its data while another suite runs beside this one.
    workdir = Path(tempfile.mkdtemp(prefix="parley-test-"))
    servers = Servers.start(workdir)
    try:
        yield servers
    finally:
        servers.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
async def stack(servers: Servers) -> AsyncIterator[Stack]:
    stack = Stack(servers)
    for name in ("gateway", "chat", "namer", "tagger"):
        await stack.start(name)
    yield stack
    await stack.stop_all()


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as client:
        yield client


@pytest.fixture
async def alice(http: httpx.AsyncClient) -> Client:
    return await Client(http, f"alice-{uuid.uuid4().hex[:6]}").login()


@pytest.fixture
async def bob(http: httpx.AsyncClient) -> Client:
    return await Client(http, f"bob-{uuid.uuid4().hex[:6]}").login()


@pytest.fixture
async def js(servers: Servers) -> AsyncIterator[object]:
    import nats

    nc = await nats.connect(servers.nats_url)
    yield nc.jetstream()
    await nc.close()
