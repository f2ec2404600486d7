"""Wiring of the chat service: the upstream adapter chosen by configuration, and its consumer."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from parley_providers import load_catalogue
from parley_runtime import Service

from .adapters.echo import EchoUpstream
from .adapters.providers import ModelRouter
from .adapters.replay import ReplayUpstream
from .consumers import ChatHandlers
from .domain.upstream import UpstreamAI
from .settings import ChatSettings

MIGRATIONS = Path(str(resources.files("parley_chat") / "migrations"))


def build_router(settings: ChatSettings) -> ModelRouter:
    """The model router: the catalogue's adapters, or the one ``PARLEY_UPSTREAM`` forces.

    Raises:
        ValueError: ``replay`` without ``PARLEY_REPLAY_FILE``; a malformed catalogue.
    """
    catalogue = load_catalogue(settings.models_file)
    forced = None if settings.upstream == "catalogue" else build_upstream(settings)
    return ModelRouter(
        catalogue, replay_file=settings.replay_file, delta_words=settings.delta_words, forced=forced
    )


def build_upstream(settings: ChatSettings) -> UpstreamAI:
    """The offline upstream AI adapter that ``PARLEY_UPSTREAM`` names (``echo`` or ``replay``).

    Raises:
        ValueError: ``replay`` without ``PARLEY_REPLAY_FILE``.
    """
    if settings.upstream == "replay":
        if settings.replay_file is None:
            raise ValueError(
                "PARLEY_UPSTREAM=replay needs PARLEY_REPLAY_FILE (a conversations file)"
            )
        return ReplayUpstream(
            settings.replay_file,
            model=settings.upstream_model or "replay-1",
            delta_words=settings.delta_words,
        )
    return EchoUpstream(model=settings.upstream_model or "echo-1", delta_words=settings.delta_words)


def build(settings: ChatSettings | None = None) -> tuple[Service, FastAPI]:
    """The chat service and its ASGI app (health endpoints; lifespan runs the service)."""
    settings = settings or ChatSettings()
    router = build_router(settings)
    handlers = ChatHandlers(
        router,
        order_wait_s=settings.order_wait_s,
        turn_deadline_s=settings.turn_deadline_s,
        retry_base_s=settings.retry_base_s,
    )
    service = Service("chat", settings, migrations=MIGRATIONS, consumers=[handlers.consumer_spec()])
    service.add_readiness_detail("unusable_models", router.unusable)
    return service, service.asgi()
