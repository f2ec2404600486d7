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
from .adapters.notifications import GatewayNotifications
from .api.routes import router
from .consumers import consumer_spec
from .settings import GatewaySettings

log = structlog.get_logger(__name__)

MIGRATIONS = Path(str(resources.files("parley_gateway") / "migrations"))


async def _prune_keys(service: Service, ttl_s: float) -> None:
    """Forget expired idempotency keys now and every hour."""
    while True:
        try:
            await store.prune_idempotency_keys(service.pool, ttl_s)
        except Exception:
            log.warning("pruning idempotency keys failed; trying again in an hour", exc_info=True)
        await asyncio.sleep(3600)


def build(settings: GatewaySettings | None = None) -> tuple[Service, FastAPI]:
    """The gateway service and its FastAPI app (lifespan runs the service)."""
    settings = settings or GatewaySettings()
    service = Service("gateway", settings, migrations=MIGRATIONS, consumers=[consumer_spec()])
    notifications = GatewayNotifications()
    service.add_readiness_check("notifications", lambda: notifications.listening)

    pruning: list[asyncio.Task[None]] = []

    @service.on_start
    async def _listen(svc: Service) -> None:
        await notifications.start(svc.pool)
        pruning.append(asyncio.create_task(_prune_keys(svc, settings.idempotency_ttl_s)))

    @service.on_stop
    async def _unlisten(_: Service) -> None:
        for task in pruning:
            task.cancel()
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
    add_exception_handler(app, new_exception_handler())
    return service, service.asgi(app)
