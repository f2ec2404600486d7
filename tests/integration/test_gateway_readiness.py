"""The gateway's ``/readyz`` and API requests while its PostgreSQL is frozen, on real servers.

A frozen server accepts connections and bytes but answers nothing; cancelling a query on it
waits too. The gateway reaches PostgreSQL through a small TCP relay that can stop relaying
(:class:`FreezableRelay`), which freezes the server as the gateway sees it, whatever server the
run uses (embedded on a Unix socket, or one named by ``DATABASE_URL``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
from parley_gateway.app import build
from parley_gateway.settings import GatewaySettings
from parley_runtime import service as service_module
from stack import Servers


class FreezableRelay:
    """A loopback TCP relay to a PostgreSQL server; :attr:`flowing` cleared freezes it."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.flowing = asyncio.Event()
        self.flowing.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        """Listen on a free loopback port; returns the database URL through the relay."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        parts = urlsplit(self.database_url)
        userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{userinfo}127.0.0.1:{port}", query=""))

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        parts = urlsplit(self.database_url)
        socket_dir = parse_qs(parts.query).get("host", [""])[0]
        port = parts.port or 5432
        if socket_dir.startswith("/"):
            return await asyncio.open_unix_connection(f"{socket_dir}/.s.PGSQL.{port}")
        return await asyncio.open_connection(parts.hostname or "127.0.0.1", port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.flowing.wait()
        up_reader, up_writer = await self._open_upstream()
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(65536):
                await self.flowing.wait()
                sink.write(data)
                await sink.drain()
        sink.close()

    async def stop(self) -> None:
        """Stop listening and drop every relayed connection."""
        self.flowing.set()
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def test_readyz_answers_in_time_while_postgresql_is_frozen(servers: Servers) -> None:
    relay = FreezableRelay(servers.database_url)
    settings = GatewaySettings(**servers.env(database_url=await relay.start()))
    service, app = build(settings)
    await service.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as client:
            assert (await client.get("/readyz")).status_code == 200
            relay.flowing.clear()
            started = time.perf_counter()
            frozen = await asyncio.wait_for(client.get("/readyz"), timeout=10)
            elapsed = time.perf_counter() - started
            assert frozen.status_code == 503
            assert frozen.json()["checks"]["database"] is False
            assert elapsed < service_module.READINESS_TIMEOUT_S + 1.0, elapsed
            relay.flowing.set()
            deadline = time.perf_counter() + 10
            while (await client.get("/readyz")).status_code != 200:
                assert time.perf_counter() < deadline, "not ready again after the thaw"
                await asyncio.sleep(0.1)
    finally:
        relay.flowing.set()
        await service.stop()
        await relay.stop()


async def test_a_request_while_postgresql_is_frozen_is_a_prompt_503_problem(
    servers: Servers,
) -> None:
    """Every statement of the gateway's pool is bounded by ``db_command_timeout_s``: a request
    to a frozen database answers 503 ``Database unavailable`` soon after it, the other requests
    are not held up, and the API answers again once the database thaws."""
    relay = FreezableRelay(servers.database_url)
    timeout_s = 1.0
    settings = GatewaySettings(
        **servers.env(database_url=await relay.start(), db_command_timeout_s=timeout_s)
    )
    service, app = build(settings)
    await service.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as client:
            token = (await client.post("/api/auth/token", json={"user_id": "ops"})).json()
            auth = {"Authorization": f"Bearer {token['access_token']}"}
            assert (await client.get("/api/sessions", headers=auth)).status_code == 200

            relay.flowing.clear()
            started = time.perf_counter()
            answers = await asyncio.wait_for(
                asyncio.gather(
                    client.get("/api/sessions", headers=auth),
                    client.post("/api/sessions", json={}, headers=auth),
                    client.get("/api/sessions", headers=auth),
                ),
                timeout=15,
            )
            elapsed = time.perf_counter() - started
            for answer in answers:
                assert answer.status_code == 503, answer.text
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert answer.json()["title"] == "Database unavailable"
                assert answer.headers["retry-after"] == "1"
            print(f"frozen database: 3 requests answered 503 in {elapsed:.2f} s")
            assert elapsed < 3 * timeout_s + 1.0, elapsed

            relay.flowing.set()
            deadline = time.perf_counter() + 10
            while (await client.get("/api/sessions", headers=auth)).status_code != 200:
                assert time.perf_counter() < deadline, "the API did not come back after the thaw"
                await asyncio.sleep(0.1)
            created = await client.post("/api/sessions", json={}, headers=auth)
            assert created.status_code == 201, created.text
    finally:
        relay.flowing.set()
        await service.stop()
        await relay.stop()
