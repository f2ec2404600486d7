"""The Parley stack for tests: real NATS JetStream and PostgreSQL (embedded, or in containers with
``PARLEY_TEST_SERVERS=containers``, unless ``NATS_URL`` / ``DATABASE_URL`` name others), a fresh
database, stream and subject prefix per run, and the four services started in this process (the
gateway behind a real uvicorn HTTP server).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from containers import server_mode, start_nats_container, start_postgres_container
from parley_runtime.db import with_database
from parley_runtime.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from parley_runtime.serving import DrainingServer

#: What asyncpg runs of its own on a connection, left out when a test counts statements: type
#: introspection (once per connection and type), and the reset of a connection released to a
#: pool (the services' pools skip it).
ASYNCPG_OWN = ("typeinfo_tree", "'jit'", "pg_advisory_unlock_all")


def own_statements(statements: list[str]) -> list[str]:
    """``statements`` but asyncpg's own (:data:`ASYNCPG_OWN`)."""
    return [q for q in statements if not any(own in q for own in ASYNCPG_OWN)]


@dataclass
class Servers:
    """Where the servers of this test run are, and how to stop the embedded ones."""

    nats_url: str
    database_url: str
    prefix: str
    stream: str
    stoppers: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def start(cls, workdir: Path) -> Servers:
        """Start (or name) NATS and PostgreSQL; pick a fresh database, stream and prefix."""
        run = uuid.uuid4().hex[:10]
        stoppers: list[Callable[[], None]] = []
        in_containers = server_mode() == "containers"
        nats_url = os.environ.get("NATS_URL")
        if not nats_url and in_containers:
            nats_url, stop = start_nats_container()
            stoppers.append(stop)
        elif not nats_url:
            nats = EmbeddedNats(workdir / "nats").start()
            stoppers.append(nats.stop)
            nats_url = nats.url
        database_url = os.environ.get("DATABASE_URL")
        if not database_url and in_containers:
            database_url, stop = start_postgres_container()
            stoppers.append(stop)
        elif not database_url:
            pg = EmbeddedPostgres(workdir / "pg").start()
            stoppers.append(pg.stop)
            database_url = pg.url("postgres")
        return cls(
            nats_url=nats_url,
            database_url=with_database(database_url, f"parley_test_{run}"),
            prefix=f"t{run}",
            stream=f"PARLEY_T{run.upper()}",
            stoppers=stoppers,
        )

    def env(self, **extra: Any) -> dict[str, Any]:
        """Settings keyword arguments shared by every service of this run."""
        return {
            "nats_url": self.nats_url,
            "database_url": self.database_url,
            "prefix": self.prefix,
            "stream": self.stream,
            "backoff_s": (0.2, 0.4, 0.8),
            "outbox_poll_s": 0.5,
            **extra,
        }

    def stop(self) -> None:
        """Stop the embedded servers; on servers the environment named, drop this run's
        database and stream instead."""
        if "NATS_URL" in os.environ or "DATABASE_URL" in os.environ:
            asyncio.run(self._drop_named())
        for stop in reversed(self.stoppers):
            stop()

    async def _drop_named(self) -> None:
        if os.environ.get("DATABASE_URL"):
            conn = await asyncpg.connect(with_database(self.database_url, "postgres"))
            try:
                name = self.database_url.rsplit("/", 1)[1].split("?")[0]
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()
        if os.environ.get("NATS_URL"):
            import nats

            nc = await nats.connect(self.nats_url)
            try:
                await nc.jetstream().delete_stream(self.stream)
            finally:
                await nc.close()


class Stack:
    """The four services of one test run; start, stop and restart them by name."""

    def __init__(self, servers: Servers) -> None:
        self.servers = servers
        self.services: dict[str, Any] = {}
        self._http: uvicorn.Server | None = None
        self._http_task: asyncio.Task[None] | None = None
        self.base_url = ""
        self.overrides: dict[str, dict[str, Any]] = {}

    def build(self, name: str) -> Any:
        """Build service ``name`` with this run's settings (plus ``overrides[name]``)."""
        extra = self.overrides.get(name, {})
        if name == "gateway":
            from parley_gateway.app import build
            from parley_gateway.settings import GatewaySettings

            return build(GatewaySettings(**self.servers.env(**extra)))
        if name == "chat":
            from parley_chat.app import build
            from parley_chat.settings import ChatSettings

            return build(ChatSettings(**self.servers.env(**extra)))
        if name == "namer":
            from parley_namer.app import build
            from parley_namer.settings import NamerSettings

            return build(NamerSettings(**self.servers.env(**extra)))
        if name == "tagger":
            from parley_tagger.app import build
            from parley_tagger.settings import TaggerSettings

            return build(TaggerSettings(**self.servers.env(**extra)))
        raise ValueError(name)

    async def start(self, name: str, service: Any = None) -> Any:
        """Start one service (or ``service``, built by the test, under that name); the gateway is
        served over HTTP on a free loopback port."""
        if service is not None:
            await service.start()
            self.services[name] = service
            return service
        service, app = self.build(name)
        if name == "gateway":
            port = free_port()
            config = uvicorn.Config(
                app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
            )
            self._http = DrainingServer(config, service.on_drain)
            self._http_task = asyncio.create_task(self._http.serve())
            while not self._http.started:
                if self._http_task.done():
                    self._http_task.result()
                await asyncio.sleep(0.02)
            self.base_url = f"http://127.0.0.1:{port}"
        else:
            await service.start()
        self.services[name] = service
        return service

    async def stop(self, name: str) -> None:
        """Stop one service (the gateway's HTTP server with it)."""
        service = self.services.pop(name)
        if name == "gateway" and self._http is not None and self._http_task is not None:
            self._http.should_exit = True
            await self._http_task
            self._http = None
        else:
            await service.stop()

    async def restart(self, name: str) -> Any:
        """Stop and start a service again (a new instance, as after a process restart)."""
        await self.stop(name)
        return await self.start(name)

    async def stop_all(self) -> None:
        for name in list(self.services):
            await self.stop(name)

    async def settled(self, js: Any, timeout: float = 20) -> None:
        """Wait until every event in flight between the running services is handled."""
        await settled(
            js,
            self.servers.stream,
            list(self.services),
            [service.pool for service in self.services.values()],
            timeout,
        )

    async def db(self) -> asyncpg.Connection:
        """A direct connection to this run's database, for checks across schemas."""
        return await asyncpg.connect(self.servers.database_url)


class Client:
    """A user of the HTTP API: gets a dev token and calls the gateway with it."""

    def __init__(self, http: httpx.AsyncClient, user_id: str) -> None:
        self.http = http
        self.user_id = user_id
        self.headers: dict[str, str] = {}

    async def login(self) -> Client:
        r = await self.http.post("/api/auth/token", json={"user_id": self.user_id})
        r.raise_for_status()
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self

    async def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        return await self.http.request(
            method, url, headers={**self.headers, **kw.pop("headers", {})}, **kw
        )

    async def create_session(self, **body: Any) -> dict[str, Any]:
        r = await self.request("POST", "/api/sessions", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    async def post(self, session_id: str, content: str, wait: float = 20) -> dict[str, Any]:
        r = await self.request(
            "POST",
            f"/api/sessions/{session_id}/messages",
            params={"wait": wait},
            json={"content": content},
        )
        assert r.status_code == 201, r.text
        return r.json()

    async def session(self, session_id: str, **params: Any) -> dict[str, Any]:
        r = await self.request("GET", f"/api/sessions/{session_id}", params=params)
        assert r.status_code == 200, r.text
        return r.json()

    async def wait_for(
        self, session_id: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20
    ) -> dict[str, Any]:
        """Poll the session until ``predicate`` holds; fail after ``timeout`` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            session = await self.session(session_id)
            if predicate(session):
                return session
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"session never reached the expected state: {session}")
            await asyncio.sleep(0.05)


async def settled(
    js: Any, stream: str, durables: list[str], pools: list[Any], timeout: float = 20
) -> None:
    """Wait until nothing is in flight between services: on one pass, the stream's last sequence
    is unchanged from start to end, every outbox of ``pools`` is empty (read before and after the
    consumers), and each durable has nothing pending or unacknowledged. No sleeping guess: outbox
    rows and the server's counters say when every event was published, delivered and settled.

    A handler commits its outbox rows before it acks, and the relay deletes a row only once the
    stream holds its event: an event written during the pass shows in the second outbox read or
    in the stream's sequence.
    """
    deadline = asyncio.get_running_loop().time() + timeout

    async def outboxes_empty() -> bool:
        for pool in pools:
            if await pool.fetchval("SELECT count(*) FROM outbox"):
                return False
        return True

    while True:
        busy: list[str] = []
        first_seq = (await js.stream_info(stream)).state.last_seq
        if not await outboxes_empty():
            busy.append("outbox")
        for durable in durables:
            info = await js.consumer_info(stream, durable)
            if info.num_pending or info.num_ack_pending:
                busy.append(f"{durable} ({info.num_pending} pending, {info.num_ack_pending} unacked)")
        if not await outboxes_empty():
            busy.append("outbox")
        if (await js.stream_info(stream)).state.last_seq != first_seq:
            busy.append("stream")
        if not busy:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still busy after {timeout} s: {busy}")
        await asyncio.sleep(0.02)
