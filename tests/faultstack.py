"""A Parley stack for fault tests: NATS, PostgreSQL and each of the four services in a process of
its own, so that any of them can be killed with SIGKILL and started again on the same port and
data, as in a crash. Always embedded servers (the environment's servers cannot be killed).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from parley_runtime.db import with_database
from parley_runtime.embedded import (
    EmbeddedNats,
    EmbeddedPostgres,
    _postmaster_ready,
    die_with_parent,
    free_port,
    stop_process_group,
)
from stack import settled

SERVICES = ("gateway", "chat", "namer", "tagger")


class RestartablePostgres(EmbeddedPostgres):
    """The embedded PostgreSQL, but :meth:`start` returns once the server is launched: the caller
    awaits :meth:`ready` without blocking its event loop (crash recovery takes a while)."""

    def _wait_ready(self, timeout_s: float) -> None:
        """Not here: see :meth:`ready`."""

    def ready(self) -> bool:
        """Whether the server is up and accepting connections."""
        assert self.proc is not None
        return self.alive() and _postmaster_ready(self.data_dir / "postmaster.pid", self.proc.pid)


class ServiceProcess:
    """One service run as ``python -m parley_<name>`` with its environment and log file."""

    def __init__(self, name: str, env: dict[str, str], port: int, log: Path) -> None:
        self.name, self.env, self.port, self.log = name, env, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where it answers HTTP (the API for the gateway, health for the others)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Launch the process (from the main thread: it dies with its parent)."""
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", f"parley_{self.name}"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent(),
            )

    def kill(self) -> None:
        """SIGKILL the process, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 20 s)."""
        if self.proc is not None and self.proc.poll() is None:
            stop_process_group(self.proc, signal.SIGTERM, 20.0)

    async def ready(self, timeout_s: float = 60.0) -> None:
        """Wait until ``/readyz`` answers 200.

        Raises:
            AssertionError: the process exited or was not ready within ``timeout_s`` seconds.
        """
        deadline = asyncio.get_running_loop().time() + timeout_s
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                assert self.proc is not None and self.proc.poll() is None, f"{self.name} exited"
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                assert asyncio.get_running_loop().time() < deadline, f"{self.name} not ready"
                await asyncio.sleep(0.1)


class FaultStack:
    """NATS, PostgreSQL and the four services, each its own process, in ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        run = uuid.uuid4().hex[:10]
        self.workdir = workdir
        self.nats = EmbeddedNats(workdir / "nats")
        self.pg = RestartablePostgres(workdir / "pg")
        self.prefix, self.stream = f"f{run}", f"PARLEY_F{run.upper()}"
        self.secret = secrets.token_urlsafe(32)
        self.database_url = ""
        self.services: dict[str, ServiceProcess] = {}

    async def start(self) -> None:
        """Start the servers, then the gateway (it creates the database and stream), then the
        three workers; returns once every service is ready."""
        self.nats.start()
        self.pg.start()
        await self.pg_ready()
        self.database_url = with_database(self.pg.url(), "parley_faults")
        for name in SERVICES:
            port = free_port()
            env = self._env(name, port)
            self.services[name] = ServiceProcess(name, env, port, self.workdir / f"{name}.log")
        self.services["gateway"].start()
        await self.services["gateway"].ready()
        for name in SERVICES[1:]:
            self.services[name].start()
        await asyncio.gather(*(self.services[name].ready() for name in SERVICES[1:]))

    def _env(self, name: str, port: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
        env.update(
            NATS_URL=self.nats.url,
            DATABASE_URL=self.database_url,
            PARLEY_PREFIX=self.prefix,
            PARLEY_STREAM=self.stream,
            PARLEY_ENV="prod",
            PARLEY_LOG_LEVEL="WARNING",
            PARLEY_JWT_SECRET=self.secret,
            # A crashed consumer's events come back after ack_wait: short, so the test is too.
            PARLEY_ACK_WAIT_S="5",
            PARLEY_OUTBOX_POLL_S="0.5",
            PARLEY_HEALTH_HOST="127.0.0.1",
            **({"PARLEY_PORT": str(port)} if name == "gateway" else {}),
            **({"PARLEY_HEALTH_PORT": str(port)} if name != "gateway" else {}),
        )
        return env

    @property
    def base_url(self) -> str:
        """The gateway's HTTP API."""
        return self.services["gateway"].url

    async def pg_ready(self, timeout_s: float = 60.0) -> None:
        """Wait until PostgreSQL accepts connections (after a start or a crash recovery)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not self.pg.ready():
            assert self.pg.alive(), f"postgres exited; see {self.pg.data_dir / 'log'}"
            assert asyncio.get_running_loop().time() < deadline, "postgres not ready"
            await asyncio.sleep(0.05)

    async def settled(self, timeout: float = 60) -> None:
        """Wait until nothing is in flight between the services (see :func:`stack.settled`)."""
        import nats

        nc = await nats.connect(self.nats.url)
        pools = [
            await asyncpg.create_pool(
                self.database_url, min_size=1, max_size=1, server_settings={"search_path": name}
            )
            for name in SERVICES
        ]
        try:
            await settled(nc.jetstream(), self.stream, list(SERVICES), pools, timeout)
        finally:
            for pool in pools:
                await pool.close()
            await nc.close()

    async def db(self) -> asyncpg.Connection:
        """A direct connection to the stack's database."""
        return await asyncpg.connect(self.database_url)

    def stop(self) -> None:
        """Stop the services, then PostgreSQL and NATS; nothing is left running."""
        for service in self.services.values():
            service.stop()
        self.pg.stop()
        self.nats.stop()

    async def diagnosis(self) -> dict[str, Any]:
        """Where events stand, for a failure's message: the stream's last sequence, each
        durable's pending and unacknowledged counts, each outbox's rows (or the error met)."""
        import nats

        found: dict[str, Any] = {}
        try:
            nc = await nats.connect(self.nats.url, max_reconnect_attempts=1)
            try:
                js = nc.jetstream()
                found["stream_last_seq"] = (await js.stream_info(self.stream)).state.last_seq
                for name in SERVICES:
                    info = await js.consumer_info(self.stream, name)
                    found[name] = {"pending": info.num_pending, "unacked": info.num_ack_pending}
            finally:
                await nc.close()
            db = await self.db()
            try:
                for name in SERVICES:
                    found[f"{name}.outbox"] = await db.fetchval(
                        f"SELECT count(*) FROM {name}.outbox"
                    )
            finally:
                await db.close()
        except Exception as exc:
            found["error"] = repr(exc)[:300]
        return found

    def logs(self) -> dict[str, Any]:
        """The last lines of each service's log (for a failure's message)."""
        return {
            name: s.log.read_text(errors="replace").splitlines()[-5:]
            for name, s in self.services.items()
            if s.log.exists()
        }
