"""The namer's settings (``PARLEY_*``)."""

from __future__ import annotations

from typing import Literal

from parley_runtime import RuntimeSettings
from pydantic import Field


class NamerSettings(RuntimeSettings):
    """Which namer proposes names (``extractive``, offline) and how long one attempt may take
    (seconds)."""

    health_port: int | None = 8082
    namer: Literal["extractive"] = "extractive"
    attempt_timeout_s: float = Field(default=20.0, gt=0)
