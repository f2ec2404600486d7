"""Which namer names sessions, chosen by configuration (:class:`NamerSettings`)."""

from __future__ import annotations

import structlog
from parley_providers import ModelSpec, load_catalogue

from ..domain.policy import AsyncNamer
from ..settings import NamerSettings
from .extractive import ExtractiveNamer
from .llm import LlmNamer
from .offline import OfflineNamer

log = structlog.get_logger(__name__)


def naming_model(settings: NamerSettings) -> ModelSpec | None:
    """The model that names sessions: ``PARLEY_NAMING_MODEL``, else the catalogue's
    ``naming_model``; None when neither names one.

    Raises:
        ValueError: the model named is not in the catalogue, or it is an offline provider.
    """
    catalogue = load_catalogue(settings.models_file)
    name = settings.naming_model or catalogue.naming_model
    if name is None:
        return None
    spec = catalogue.get(name)
    if spec is None:
        raise ValueError(f"naming model {name!r} is not in the catalogue")
    if spec.provider in ("echo", "replay", "session-http"):
        raise ValueError(f"naming model {name!r} ({spec.provider}) has no structured output")
    return spec


def build_namers(settings: NamerSettings) -> tuple[AsyncNamer, OfflineNamer]:
    """The configured namer and the offline one (provisional names, fallback).

    ``extractive``: offline; ``llm``: the naming model (which must exist); ``auto``: the naming
    model when there is one and its key is set, else offline.

    Raises:
        ValueError: ``llm`` without a naming model, or a naming model that cannot name.
    """
    extractive = ExtractiveNamer()
    offline = OfflineNamer(extractive)
    if settings.namer == "extractive":
        return offline, offline
    spec = naming_model(settings)
    if spec is None:
        if settings.namer == "llm":
            raise ValueError("PARLEY_NAMER=llm needs a naming model (PARLEY_NAMING_MODEL)")
        return offline, offline
    if settings.namer == "auto" and spec.key_missing():
        log.info("naming offline", reason=f"{spec.api_key_env} is not set", model=spec.name)
        return offline, offline
    namer = LlmNamer(
        spec,
        offline,
        extractive.detector,  # one set of language models for both namers
        timeout_s=settings.attempt_timeout_s,
        deadline_s=settings.llm_deadline_s,
        max_tries=settings.llm_max_tries,
        retry_base_s=settings.llm_retry_base_s,
    )
    log.info("naming with a model", model=spec.name, provider=spec.provider)
    return namer, offline
