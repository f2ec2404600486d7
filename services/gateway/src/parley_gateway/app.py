"""Wiring of the gateway: the service host, its consumer, the reply listener and the API."""

from __future__ import annotations

import asyncio
from importlib import resources
from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi_problem.handler import add_exception_handler, new_exception_handler
from parley_runtime import Service

from .adapters import store
from .adapters.notifications import GatewayNotifications, notify_counts, notify_reply
from .api.edge import BodyLimit, ErrorBoundary
from .api.problems import validation_problem
from .api.routes import router
from .consumers import consumer_spec
from .settings import GatewaySettings
from .web import mount_ui

log = structlog.get_logger(__name__)

MIGRATIONS = Path(str(resources.files("parley_gateway") / "migrations"))


async def _maintain(service: Service, settings: GatewaySettings) -> None:
    """Every ``maintenance_s``: fail messages left without a reply past ``reply_deadline_s``
    (telling their waiters), and forget expired idempotency keys."""
    while True:
        # First after one interval: replies waiting in the stream since an outage land first.
        await asyncio.sleep(settings.maintenance_s)
        try:
            async with service.unit_of_work() as uow:
                stale = await store.fail_stale_messages(uow.conn, settings.reply_deadline_s)
                for message_id, session_id in stale:
                    await notify_reply(uow.conn, message_id)
                    await notify_counts(uow.conn, session_id)
            if stale:
                log.warning("messages without a reply marked failed", count=len(stale))
            await store.prune_idempotency_keys(service.pool, settings.idempotency_ttl_s)
        except Exception:
            log.warning("maintenance pass failed; trying again", exc_info=True)


def build(settings: GatewaySettings | None = None) -> tuple[Service, FastAPI]:
    """The gateway service and its FastAPI app (lifespan runs the service)."""
    settings = settings or GatewaySettings()
    service = Service("gateway", settings, migrations=MIGRATIONS, consumers=[consumer_spec()])
    notifications = GatewayNotifications()
    service.add_readiness_check("notifications", lambda: notifications.listening)

    maintenance: list[asyncio.Task[None]] = []

    @service.on_start
    async def _listen(svc: Service) -> None:
        await notifications.start(svc.pool)
        maintenance.append(asyncio.create_task(_maintain(svc, settings)))

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
    app.state.settings = settings
    app.state.service = service
    app.state.notifications = notifications
    app.include_router(router)
    mount_ui(app)
    add_exception_handler(app, new_exception_handler(request_validation_handler=validation_problem))
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ErrorBoundary)  # outermost: added last
    return service, service.asgi(app)
