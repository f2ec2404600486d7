"""The service host: wires settings, logging, database, migrations, broker, consumers, outbox
relay and health endpoints into one lifecycle (``start`` / ``stop``) and one ASGI app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import structlog
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from faststream.nats import NatsBroker
from parley_contracts import StreamSpec, Subjects
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from . import collector
from .bus import ConsumerSpec, EventConsumer, create_broker, ensure_stream
from .db import create_pool, database_answers, ensure_database, ensure_schema
from .logging import configure_logging
from .migrations import apply_migrations
from .outbox import OutboxRelay
from .serving import DrainingServer
from .settings import RuntimeSettings
from .tracing import configure_tracing
from .uow import Handoff, UnitOfWork, reading, unit_of_work

log = structlog.get_logger(__name__)

Hook = Callable[["Service"], Awaitable[None]]

#: How long ``/readyz`` waits for the database, in seconds.
READINESS_TIMEOUT_S = 2.0


class Service:
    """One Parley service: its schema, migrations, consumers and hooks.

    Args:
        name: the service name; also its Postgres schema and the prefix of its durables.
        settings: the chassis settings (a service's subclass adds its own).
        migrations: the folder of the service's SQL migrations.
        consumers: the durable consumers to run.
    """

    def __init__(
        self,
        name: str,
        settings: RuntimeSettings,
        *,
        migrations: Path | None = None,
        consumers: list[ConsumerSpec] | None = None,
    ) -> None:
        self.name = name
        self.schema = name
        self.settings = settings
        self.subjects = Subjects(settings.prefix)
        self.migrations = migrations
        self.broker: NatsBroker = create_broker(settings, name)
        self._pool: asyncpg.Pool | None = None
        self.relay: OutboxRelay | None = None
        self.consumers = [
            EventConsumer(
                spec=spec,
                settings=settings,
                schema=self.schema,
                pool_getter=lambda: self.pool,
                broker=self.broker,
                handoff_getter=self._handoff,
            )
            for spec in consumers or []
        ]
        self._checks: dict[str, Callable[[], bool]] = {}
        self._details: dict[str, Callable[[], Any]] = {}
        self._responders: list[tuple[str, Callable[..., Awaitable[Any]], int]] = []
        self._on_start: list[Hook] = []
        self._on_stop: list[Hook] = []
        #: Called when the HTTP server begins to shut down, before it waits for open requests.
        self.on_drain: list[Callable[[], None]] = []
        self.started = False

    @property
    def pool(self) -> asyncpg.Pool:
        """The service's connection pool (search path = its schema).

        Raises:
            RuntimeError: the service has not started.
        """
        if self._pool is None:
            raise RuntimeError(f"service {self.name} has not started")
        return self._pool

    def on_start(self, hook: Hook) -> Hook:
        """Run ``hook(service)`` at the end of :meth:`start` (adapters, listeners...)."""
        self._on_start.append(hook)
        return hook

    def add_responder(
        self, subject: str, handler: Callable[..., Awaitable[Any]], *, max_workers: int = 8
    ) -> None:
        """Answer requests on ``subject`` (core NATS request/reply) with ``handler``.

        The handler's first parameter is the request body, validated by its pydantic
        annotation; its return value is the reply. Replicas share the load (a queue group named
        after the service), and each replica answers ``max_workers`` requests at once. Register
        before :meth:`start`.
        """
        self._responders.append((subject, handler, max_workers))

    def add_readiness_check(self, name: str, check: Callable[[], bool]) -> None:
        """Add ``check()`` (True when healthy) to ``/readyz`` beside the database and NATS."""
        self._checks[name] = check

    def add_readiness_detail(self, name: str, detail: Callable[[], Any]) -> None:
        """Show ``detail()`` (JSON-ready) under ``name`` in ``/readyz`` without deciding readiness
        (e.g. which models cannot be used)."""
        self._details[name] = detail

    def on_stop(self, hook: Hook) -> Hook:
        """Run ``hook(service)`` at the beginning of :meth:`stop`."""
        self._on_stop.append(hook)
        return hook

    def unit_of_work(self, *, optimistic: bool = False) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work on the service's schema (no inbox mark): state and outbox together
        (``optimistic``: without a transaction, see :class:`~parley_runtime.UnitOfWork`)."""
        return unit_of_work(
            self.pool, self.subjects, self.schema, handoff=self._handoff(), optimistic=optimistic
        )

    def _handoff(self) -> Handoff | None:
        """Where units of work hand their committed outbox rows: the running relay's."""
        return self.relay.handoff if self.relay is not None and self.relay.running else None

    def reading(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work for one-statement reads, without a transaction (see
        :func:`parley_runtime.uow.reading`)."""
        return reading(self.pool, self.subjects, self.schema)

    async def prepare_database(self) -> list[str]:
        """Create the database and the service's schema if missing, then apply its pending
        migrations; returns the ids applied now. Safe with many replicas starting at once.

        Raises:
            OSError, asyncpg.PostgresError, psycopg.Error: the server is unreachable, refuses,
                or a migration fails.
        """
        s = self.settings
        await ensure_database(s.database_url)
        await ensure_schema(s.database_url, self.schema)
        folders = [self.migrations] if self.migrations else []
        return await apply_migrations(s.database_url, self.schema, *folders)

    async def start(self) -> None:
        """Connect to PostgreSQL and NATS, migrate, declare the stream, start consumers and relay.

        Raises:
            OSError, asyncpg.PostgresError, nats.errors.Error: a server is unreachable or refuses.
        """
        s = self.settings
        await self.prepare_database()
        self._pool = await create_pool(
            s.database_url,
            self.schema,
            min_size=s.db_pool_min,
            max_size=s.db_pool_max,
            command_timeout_s=s.db_command_timeout_s,
        )
        # Wait counts matter only while their events are being redelivered.
        await self.pool.execute(
            "DELETE FROM delivery_waits WHERE updated_at < now() - interval '1 day'"
        )
        for consumer in self.consumers:
            consumer.register()
        for subject, handler, workers in self._responders:
            self.broker.subscriber(subject, queue=self.name, max_workers=workers)(handler)
        await self.broker.connect()
        js = self.broker.connection.jetstream()
        await ensure_stream(js, StreamSpec.for_prefix(s.stream, s.prefix, s.stream_replicas))
        for consumer in self.consumers:
            await consumer.ensure(js)
        await self.broker.start()
        for consumer in self.consumers:
            await consumer.start()
        self.relay = OutboxRelay(
            self.pool,
            js,
            schema=self.schema,
            stream=s.stream,
            poll_s=s.outbox_poll_s,
            settle_s=s.outbox_settle_s,
            max_payload=self.broker.connection.max_payload,
        )
        await self.relay.start()
        for hook in self._on_start:
            await hook(self)
        self.started = True
        log.info("service started", service=self.name, prefix=s.prefix, stream=s.stream)

    async def stop(self) -> None:
        """Stop hooks, then consumers (fetching stops, runners finish), the outbox relay, the
        broker connection and the pool, in that order. Safe to call twice."""
        if not self.started:
            return
        self.started = False
        for hook in self._on_stop:
            await hook(self)
        for consumer in self.consumers:
            await consumer.drain()
        if self.relay is not None:
            await self.relay.stop()  # it publishes on the broker's connection
        await self.broker.stop()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        log.info("service stopped", service=self.name)

    async def readiness(self) -> dict[str, bool]:
        """Whether the database answers, the NATS connection is up, and the added checks pass."""
        checks = {"database": await database_answers(self.pool, READINESS_TIMEOUT_S), "nats": False}
        try:
            checks["nats"] = bool(self.broker.connection.is_connected)
        except Exception:
            checks["nats"] = False
        for name, check in self._checks.items():
            checks[name] = bool(check())
        return checks

    def asgi(self, app: FastAPI | None = None) -> FastAPI:
        """An ASGI app whose lifespan runs this service, with ``/healthz``, ``/readyz`` and
        ``/metrics`` (Prometheus).

        ``app`` is the service's own FastAPI app (the gateway's API); a bare one otherwise.
        """

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        app = app or FastAPI(title=f"parley-{self.name}")
        app.router.lifespan_context = lifespan
        if self.settings.tracing == "on":
            from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

            FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")

        @app.get("/healthz", include_in_schema=False)
        async def healthz() -> dict[str, str]:
            return {"status": "ok", "service": self.name}

        @app.get("/metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        @app.get("/readyz", include_in_schema=False)
        async def readyz() -> JSONResponse:
            checks = await self.readiness() if self.started else {"started": False}
            ready = self.started and all(checks.values())
            details = {name: detail() for name, detail in self._details.items()}
            return JSONResponse(
                {"status": "ready" if ready else "not ready", "checks": checks, **details},
                status_code=200 if ready else 503,
            )

        return app


def serve(service: Service, app: FastAPI | None = None, *, port: int) -> None:
    """Run ``service`` under uvicorn on ``settings.health_host:port`` until SIGINT/SIGTERM; when
    the shutdown begins, ``service.on_drain`` hooks run before open requests are awaited.

    ``port`` is the service's own choice (the gateway's API port, a worker's health port).
    Once the service has started, the process's garbage collector is set for a long run
    (:func:`parley_runtime.collector.settle`).
    """
    s = service.settings
    configure_logging(service.name, env=s.env, level=s.log_level)
    configure_tracing(service.name, s.tracing)
    service.on_start(_settle_collector)  # last: once everything it keeps is alive
    config = uvicorn.Config(
        service.asgi(app),
        host=s.health_host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    DrainingServer(config, service.on_drain).run()


async def _settle_collector(_: Service) -> None:
    collector.settle()
