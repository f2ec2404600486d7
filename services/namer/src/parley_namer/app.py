"""Wiring of the namer: the namer chosen by configuration, its consumer and its responders."""

from __future__ import annotations

import asyncio
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from parley_contracts import NamingAnalytics, NamingAnalyticsQuery, NamingAnswer, NamingRequest
from parley_runtime import Service

from .adapters import store
from .adapters.choice import build_namers
from .adapters.metrics import observe
from .application import requests
from .application.naming import Naming
from .consumers import NamerHandlers
from .domain.names import Turn
from .settings import NamerSettings

MIGRATIONS = Path(str(resources.files("parley_namer") / "migrations"))


#: One question each in Chinese, Japanese and Thai, named once at start to load their segmenters.
SEGMENTER_SAMPLES = (
    "如何在Python中对列表进行排序？",
    "Pythonでリストを並べ替える方法を教えてください。",
    "จะเรียงลำดับรายการใน Python ได้อย่างไร",
)


def build(settings: NamerSettings | None = None) -> tuple[Service, FastAPI]:
    """The namer service and its ASGI app (health endpoints; lifespan runs the service).

    Responders: ``<prefix>.query.namer.names`` (suggestions, regenerate) and
    ``<prefix>.query.namer.analytics``.

    Raises:
        ValueError: the naming configuration names no usable model (see
            :func:`~parley_namer.adapters.choice.build_namers`).
    """
    settings = settings or NamerSettings()
    namer, offline = build_namers(settings)
    naming = Naming(
        store, namer, offline, observe, attempt_timeout_s=settings.attempt_timeout_s + 5
    )
    handlers = NamerHandlers(naming)
    service = Service(
        "namer", settings, migrations=MIGRATIONS, consumers=[handlers.consumer_spec()]
    )

    async def names(request: NamingRequest) -> NamingAnswer:
        """Suggestions or a regenerated name for the gateway."""
        return await requests.answer(naming, service.unit_of_work, request)

    async def analytics(query: NamingAnalyticsQuery) -> NamingAnalytics:
        """The asking user's naming analytics."""
        return await requests.analytics(naming, service.pool, query.user_id)

    service.add_responder(service.subjects.query("namer", "names"), names)
    service.add_responder(service.subjects.query("namer", "analytics"), analytics)

    warm_ups: set[asyncio.Task[None]] = set()

    @service.on_start
    async def _warm_up(_: Service) -> None:
        # Load the language models now, not on the first session's name; the word segmenters
        # of Chinese, Japanese and Thai (about 0.4 s each) load in the background meanwhile.
        await offline.propose([Turn("user", "How do I sort a list in Python?")])
        warming = asyncio.create_task(_warm_segmenters())
        warm_ups.add(warming)
        warming.add_done_callback(warm_ups.discard)

    async def _warm_segmenters() -> None:
        for sample in SEGMENTER_SAMPLES:
            await offline.propose([Turn("user", sample)])

    return service, service.asgi()
