"""The chat service's settings (``PARLEY_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from parley_runtime import RuntimeSettings
from pydantic import Field


class ChatSettings(RuntimeSettings):
    """Which upstream AI adapter answers (``echo`` by default, or ``replay`` of a recorded
    conversations file), and how replies are streamed (words per live delta)."""

    health_port: int | None = 8081
    upstream: Literal["echo", "replay"] = "echo"
    upstream_model: str | None = None
    replay_file: Path | None = None
    delta_words: int = Field(default=8, ge=1)
    order_wait_s: float = Field(default=0.5, gt=0)
