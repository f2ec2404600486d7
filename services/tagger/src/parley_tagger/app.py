"""Wiring of the tagger: its consumer on the service host."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from parley_contracts import TracePage, TraceQuery
from parley_runtime import Service

from .application import tagging
from .consumers import consumer_spec
from .settings import TaggerSettings

MIGRATIONS = Path(str(resources.files("parley_tagger") / "migrations"))


def build(settings: TaggerSettings | None = None) -> tuple[Service, FastAPI]:
    """The tagger service and its ASGI app (health endpoints; lifespan runs the service)."""
    settings = settings or TaggerSettings()
    service = Service("tagger", settings, migrations=MIGRATIONS, consumers=[consumer_spec()])

    async def traces(query: TraceQuery) -> TracePage:
        """Answer a trace query from the gateway (only the asking user's traces)."""
        return await tagging.find_traces(service.pool, query)

    service.add_responder(service.subjects.query("tagger", "traces"), traces)
    return service, service.asgi()
