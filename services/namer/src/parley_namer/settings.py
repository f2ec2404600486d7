"""The namer's settings (``PARLEY_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from parley_runtime import RuntimeSettings
from pydantic import Field


class NamerSettings(RuntimeSettings):
    """Which namer proposes names and how long one attempt may take.

    ``namer``: ``auto`` (the default) asks the naming model (``naming_model``, i.e.
    ``PARLEY_NAMING_MODEL``, else the catalogue's ``naming_model``) when there is one and its key
    is set, else names offline; ``llm`` always asks it; ``extractive`` always names offline.
    ``models_file``: the model catalogue (``PARLEY_MODELS_FILE``, else the bundled one).
    ``attempt_timeout_s``: one whole attempt, seconds; ``llm_deadline_s``: how long one model
    call is retried on 429/5xx, seconds; ``llm_max_tries``: tries per call;
    and ``llm_retry_base_s``: the backoff scale, seconds.
    """

    health_port: int | None = 8082
    namer: Literal["auto", "llm", "extractive"] = "auto"
    naming_model: str | None = None
    models_file: Path | None = None
    attempt_timeout_s: float = Field(default=20.0, gt=0)
    llm_deadline_s: float = Field(default=10.0, gt=0)
    llm_max_tries: int = Field(default=3, ge=1, le=10)
    llm_retry_base_s: float = Field(default=0.5, gt=0)
