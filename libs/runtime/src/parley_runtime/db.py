"""PostgreSQL access: one asyncpg pool per service, bound to the service's own schema."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog

log = structlog.get_logger(__name__)

#: Errors that mean the database is out of reach for now, not that a statement is wrong: a
#: statement past the pool's ``command_timeout``, a refused or lost connection, a server
#: starting up, shutting down or recovering from a crash (SQLSTATE classes 08 and 57).
UNREACHABLE: tuple[type[BaseException], ...] = (
    TimeoutError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
)


def database_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is out of reach: it, or an error it was raised from or
    while handling, is :data:`UNREACHABLE`; or it is asyncpg's report of a connection the server
    closed under an operation (an ``InterfaceError`` "...connection is closed", or the
    ``InternalClientError`` of a protocol left mid-operation by a lost connection)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (*UNREACHABLE, asyncpg.InternalClientError)):
            return True
        if isinstance(seen, asyncpg.InterfaceError) and "connection is closed" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


#: Seconds :func:`database_answers` waits for ``SELECT 1``.
PROBE_TIMEOUT_S = 2.0


async def database_answers(pool: asyncpg.Pool, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """Whether the database of ``pool`` answers ``SELECT 1`` within ``timeout_s`` seconds.
    Never raises; a failure is logged at WARNING.

    The query runs as its own task that is abandoned (cancelled, not awaited) at the deadline:
    cancelling a query on a frozen server waits for the server, and ``wait_for`` would wait with
    it. Used by readiness and by the consumers, which take an error for a database outage only
    when :func:`database_unreachable` and this agree (so a bug that raises a connection-like
    error, an ``OSError`` of a file or a client-state error on a live connection, is still a
    failure that spends the event's budget).
    """
    probe = asyncio.ensure_future(pool.fetchval("SELECT 1"))
    done, _ = await asyncio.wait({probe}, timeout=timeout_s)
    if not done:
        probe.cancel()
        probe.add_done_callback(_consume_outcome)
        log.warning("database did not answer", timeout_s=timeout_s)
        return False
    if probe.exception() is not None:
        log.warning("database check failed", error=repr(probe.exception())[:300])
        return False
    return probe.result() == 1


def _consume_outcome(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned probe's outcome, so asyncio does not report it as never read."""
    if not task.cancelled():
        task.exception()


def database_name(database_url: str) -> str:
    """The database a ``postgresql://`` URL names (``postgres`` when it names none)."""
    return urlsplit(database_url).path.lstrip("/") or "postgres"


def with_database(database_url: str, name: str) -> str:
    """The same server URL, naming database ``name`` instead."""
    return urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))


async def ensure_database(database_url: str) -> None:
    """Create the database named in ``database_url`` if it does not exist yet.

    Connects to the ``postgres`` maintenance database of the same server.

    Raises:
        OSError, asyncpg.PostgresError: the server cannot be reached or refuses.
    """
    name = database_name(database_url)
    conn = await asyncpg.connect(with_database(database_url, "postgres"))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                # Created by a concurrent starter: PostgreSQL reports the race either way
                # (the catalogue's unique index fires when both pass the existence check).
                pass
    finally:
        await conn.close()


#: Server-side TCP keepalives of every pooled connection (ignored on Unix sockets): probes
#: after 10 s of silence, every 5 s, three unanswered ones end the session.
SERVER_KEEPALIVES = {
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}


async def keep_session(conn: asyncpg.Connection) -> None:
    """Release a pooled connection without the default reset query (one more round trip on
    every release: ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``).

    asyncpg has already rolled back a transaction left open and dropped the client-side
    listeners when this runs. The rest has nothing to undo here: Parley declares no cursors
    outside transactions and sets no session variables after connecting (only ``SET LOCAL``);
    the connections that LISTEN remove their listeners before they are released; the two
    session-level advisory locks (chat's per session, the outbox relay's lead) are unlocked
    before their connection is released, or the connection is closed instead.
    """


async def ensure_schema(database_url: str, schema: str) -> None:
    """Create ``schema`` in the database of ``database_url`` if it does not exist yet.

    Raises:
        OSError, asyncpg.PostgresError: the server cannot be reached or refuses the connection.
    """
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    except asyncpg.UniqueViolationError:
        pass  # another replica created it at the same moment
    finally:
        await conn.close()


async def create_pool(
    database_url: str,
    schema: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    command_timeout_s: float | None = None,
) -> asyncpg.Pool:
    """An asyncpg pool whose connections use ``schema`` (created if missing) as search path and
    name themselves ``parley-<schema>`` (``application_name``: who is who in ``pg_stat_activity``
    and in the server's log).

    ``command_timeout_s`` (seconds, None: no limit) bounds each statement and each new
    connection: past it the call raises ``TimeoutError`` (asyncpg's ``command_timeout`` and
    connect ``timeout``), so nothing waits forever on a frozen server.

    Raises:
        OSError, asyncpg.PostgresError: the server cannot be reached or refuses the connection.
    """
    await ensure_schema(database_url, schema)
    pool = await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        server_settings={
            "search_path": schema,
            "application_name": f"parley-{schema}",
            # The server drops a TCP client that stopped answering (host gone, network cut)
            # within about 25 s, and with it the session's advisory locks (the relay's lead).
            **SERVER_KEEPALIVES,
        },
        reset=keep_session,
        command_timeout=command_timeout_s,
        **({"timeout": command_timeout_s} if command_timeout_s is not None else {}),
    )
    assert pool is not None
    return pool
