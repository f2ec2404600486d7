"""The tagger's settings (``PARLEY_*``)."""

from __future__ import annotations

from parley_runtime import RuntimeSettings


class TaggerSettings(RuntimeSettings):
    """Health port of the tagger."""

    health_port: int | None = 8083
