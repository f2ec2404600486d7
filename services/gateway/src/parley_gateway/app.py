"""Wiring of the gateway: the service host, its consumer, the reply listener and the API."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi_problem.handler import add_exception_handler, new_exception_handler
from parley_runtime import Service

from .adapters.notifications import GatewayNotifications
from .api.routes import router
from .consumers import consumer_spec
from .settings import GatewaySettings

MIGRATIONS = Path(str(resources.files("parley_gateway") / "migrations"))


def build(settings: GatewaySettings | None = None) -> tuple[Service, FastAPI]:
    """The gateway service and its FastAPI app (lifespan runs the service)."""
    settings = settings or GatewaySettings()
    service = Service("gateway", settings, migrations=MIGRATIONS, consumers=[consumer_spec()])
    notifications = GatewayNotifications()
    service.add_readiness_check("notifications", lambda: notifications.listening)

    @service.on_start
    async def _listen(svc: Service) -> None:
        await notifications.start(svc.pool)

    @service.on_stop
    async def _unlisten(_: Service) -> None:
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
