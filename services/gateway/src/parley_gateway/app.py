"""Wiring of the gateway: the service host, its consumer, the reply listener and the API."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from importlib import resources
from pathlib import Path

import structlog
from fastapi import FastAPI
from parley_runtime import Service

from .adapters.naming import NatsNamingSource
from .adapters.notifications import GatewayNotifications
from .adapters.reply_watch import NatsReplyWatcher
from .adapters.saved_sessions import SavedSessions
from .adapters.traces import NatsTraceSource
from .adapters.unit_of_work import over
from .api import auth, contract, events, messages, models, naming, problems, sessions, traces
from .api.deps import Gateway
from .api.edge import BodyLimit, ErrorBoundary
from .application import replies
from .application import sessions as session_cases
from .consumers import GatewayHandlers
from .domain.ports import UnitOfWork, UnitOfWorkFactory
from .settings import GatewaySettings
from .web import mount_ui

log = structlog.get_logger(__name__)

MIGRATIONS = Path(str(resources.files("parley_gateway") / "migrations"))


async def _maintain(uow: UnitOfWorkFactory, settings: GatewaySettings) -> None:
    """Every ``maintenance_s``: fail messages left without a reply past ``reply_deadline_s``
    (telling their waiters), delete sessions idle past their ``idle_ttl_s`` and forget expired
    idempotency keys. A step that fails is logged and tried again on the next pass; the other
    steps still run."""
    steps = {
        "fail stale messages": lambda: replies.fail_stale_messages(uow, settings.reply_deadline_s),
        "expire idle sessions": lambda: session_cases.expire_idle_sessions(uow),
        "forget idempotency keys": lambda: replies.forget_idempotency_keys(
            uow, settings.idempotency_ttl_s
        ),
    }
    while True:
        # First after one interval: replies waiting in the stream since an outage land first.
        await asyncio.sleep(settings.maintenance_s)
        for step, run in steps.items():
            try:
                done = await run()
            except Exception as exc:
                log.warning(
                    "maintenance step failed; trying again", step=step, error=repr(exc)[:300]
                )
                continue
            if done:
                log.info("maintenance step done", step=step, count=done)


def build(settings: GatewaySettings | None = None) -> tuple[Service, FastAPI]:
    """The gateway service and its FastAPI app (lifespan runs the service)."""
    settings = settings or GatewaySettings()
    notifications = GatewayNotifications()
    saved = SavedSessions()  # this replica's sessions as last committed (see the class)
    consumer = GatewayHandlers(notifications.waiters, saved).consumer_spec()
    service = Service("gateway", settings, migrations=MIGRATIONS, consumers=[consumer])

    def uow(*, optimistic: bool = False) -> AbstractAsyncContextManager[UnitOfWork]:
        return over(service.unit_of_work(optimistic=optimistic), notifications.waiters, saved)

    def reads(*, optimistic: bool = False) -> AbstractAsyncContextManager[UnitOfWork]:
        return over(service.reading())  # one statement each, never a transaction

    gateway = Gateway(
        settings=settings,
        unit_of_work=uow,
        reads=reads,
        replies=NatsReplyWatcher(
            notifications.waiters, lambda: service.broker.connection, service.subjects
        ),
        session_events=notifications.feed,
        traces=NatsTraceSource(service.broker, service.subjects, settings.query_timeout_s),
        naming=NatsNamingSource(
            service.broker, service.subjects, settings.query_timeout_s, settings.naming_timeout_s
        ),
    )
    service.add_readiness_check("notifications", lambda: notifications.listening)
    # Shutting down: requests waiting for a reply answer at once with what they have.
    service.on_drain.append(notifications.waiters.close)

    maintenance: list[asyncio.Task[None]] = []

    @service.on_start
    async def _listen(svc: Service) -> None:
        await notifications.start(svc.pool)
        maintenance.append(asyncio.create_task(_maintain(uow, settings)))

    @service.on_stop
    async def _unlisten(_: Service) -> None:
        for task in maintenance:
            task.cancel()
        await asyncio.gather(*maintenance, return_exceptions=True)
        await notifications.stop()

    app = FastAPI(
        title="Parley gateway",
        version="0.1.0",
        description="Chat sessions, messages and live replies of the Parley session layer.",
    )
    app.state.gateway = gateway  # what api/deps.py hands to routes through Depends
    app.state.settings = settings  # also read directly by small routers wired with one line
    app.state.service = service
    for api in (auth, sessions, messages, events, traces, naming, contract):
        app.include_router(api.router)
    models.install(app, settings)
    mount_ui(app)
    problems.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ErrorBoundary)  # outermost: added last
    return service, service.asgi(app)
