"""Fixtures of the store tests: a connection on one service's tables, migrated in a schema of
their own, and a pool on them, that log every statement they run, for tests that count round
trips."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from parley_runtime import RuntimeSettings, Service
from parley_runtime.db import keep_session
from stack import Servers


@pytest.fixture
def statements() -> list[str]:
    """The text of every statement the test's logged connections ran, in order (asyncpg calls
    its query loggers soon after a statement, not during it: yield to the loop first)."""
    return []


@pytest.fixture
async def conn(
    request: pytest.FixtureRequest, servers: Servers, statements: list[str]
) -> AsyncIterator[asyncpg.Connection]:
    """A connection whose ``search_path`` is the test module's ``SCHEMA``, migrated with its
    ``MIGRATIONS``, that logs its statements in ``statements``."""
    schema, migrations = request.module.SCHEMA, request.module.MIGRATIONS
    settings = RuntimeSettings(**servers.env())
    await Service(schema, settings, migrations=migrations, consumers=[]).prepare_database()
    connection = await asyncpg.connect(
        servers.database_url, server_settings={"search_path": schema}
    )
    connection.add_query_logger(lambda record: statements.append(record.query))
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def pool(
    request: pytest.FixtureRequest, conn: asyncpg.Connection, servers: Servers,
    statements: list[str],
) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the test module's ``SCHEMA`` (migrated by ``conn``) whose connections log
    their statements in ``statements``."""

    async def log_statements(connection: asyncpg.Connection) -> None:
        connection.add_query_logger(lambda record: statements.append(record.query))

    created = await asyncpg.create_pool(
        servers.database_url, server_settings={"search_path": request.module.SCHEMA},
        init=log_statements, reset=keep_session,  # released as the services release theirs
    )  # fmt: skip
    assert created is not None
    try:
        yield created
    finally:
        await created.close()
