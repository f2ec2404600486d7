"""Wiring of the namer: the namer chosen by configuration, and its consumer."""

from __future__ import annotations

import asyncio
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from parley_runtime import Service

from .adapters.extractive import ExtractiveNamer
from .consumers import NamerHandlers
from .domain.names import Turn
from .settings import NamerSettings

MIGRATIONS = Path(str(resources.files("parley_namer") / "migrations"))


def build(settings: NamerSettings | None = None) -> tuple[Service, FastAPI]:
    """The namer service and its ASGI app (health endpoints; lifespan runs the service)."""
    settings = settings or NamerSettings()
    namer = ExtractiveNamer()
    handlers = NamerHandlers(namer, attempt_timeout_s=settings.attempt_timeout_s)
    service = Service(
        "namer", settings, migrations=MIGRATIONS, consumers=[handlers.consumer_spec()]
    )

    @service.on_start
    async def _warm_up(_: Service) -> None:
        # Load the language models now, not on the first session's name.
        await asyncio.to_thread(namer.propose, [Turn("user", "How do I sort a list in Python?")])

    return service, service.asgi()
