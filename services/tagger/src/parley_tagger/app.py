"""Wiring of the tagger: its consumer on the service host."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from parley_contracts import Trace, TraceCursor, TracePage, TraceQuery
from parley_runtime import Service

from .adapters import store
from .consumers import consumer_spec
from .settings import TaggerSettings

MIGRATIONS = Path(str(resources.files("parley_tagger") / "migrations"))


def build(settings: TaggerSettings | None = None) -> tuple[Service, FastAPI]:
    """The tagger service and its ASGI app (health endpoints; lifespan runs the service)."""
    settings = settings or TaggerSettings()
    service = Service("tagger", settings, migrations=MIGRATIONS, consumers=[consumer_spec()])

    async def traces(query: TraceQuery) -> TracePage:
        """Answer a trace query from the gateway (only the asking user's traces)."""
        rows = await store.find_traces(
            service.pool,
            user_id=query.user_id,
            session_tag=query.session_tag,
            session_id=query.session_id,
            after=(query.cursor.created_at, query.cursor.id) if query.cursor else None,
            limit=query.limit + 1,
        )
        page = rows[: query.limit]
        last = page[-1] if len(rows) > query.limit else None
        return TracePage(
            items=[Trace.model_validate(r) for r in page],
            next_cursor=TraceCursor(created_at=last["created_at"], id=last["id"]) if last else None,
        )

    service.add_responder(service.subjects.query("tagger", "traces"), traces)
    return service, service.asgi()
