"""The chat service's settings (``PARLEY_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from parley_runtime import RuntimeSettings
from pydantic import Field


class ChatSettings(RuntimeSettings):
    """Who answers: ``catalogue`` (the default) routes each message by its session's model
    through the model catalogue (``PARLEY_MODELS_FILE``, else the bundled one); ``echo`` or
    ``replay`` answer every model with that offline adapter. ``turn_deadline_s`` bounds all the
    tries of one turn, seconds; ``retry_base_s`` scales the backoff between them."""

    health_port: int | None = 8081
    upstream: Literal["catalogue", "echo", "replay"] = "catalogue"
    models_file: Path | None = None
    turn_deadline_s: float = Field(default=60.0, gt=0)
    retry_base_s: float = Field(default=0.5, gt=0)
    upstream_model: str | None = None
    replay_file: Path | None = None
    delta_words: int = Field(default=8, ge=1)
    order_wait_s: float = Field(default=0.5, gt=0)
