"""The gateway's settings (``PARLEY_*`` beside the chassis settings)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from parley_runtime import RuntimeSettings
from pydantic import Field

from .domain.sessions import MAX_IDLE_TTL_S


class GatewaySettings(RuntimeSettings):
    """HTTP, auth and limits of the gateway. Durations in seconds, sizes in characters.

    ``reply_deadline_s``: a user message still unanswered after this long is marked failed (by
    the maintenance pass, every ``maintenance_s``), so no message waits forever.

    ``default_idle_ttl_s``: the idle time to live of a session created without one (seconds
    without a new message before the maintenance pass erases it); None, the default: never.

    ``db_command_timeout_s``: 5 s here (30 s in the chassis): a request whose statement gets no
    answer within it is a 503 problem, not a hang.

    ``max_body_bytes``: the largest request body, in bytes, refused (413) before it is parsed.

    ``auth_mode``: ``dev`` issues tokens at ``POST /api/auth/token`` (signed with ``jwt_secret``,
    random per start unless set); ``jwt`` only verifies tokens issued elsewhere.
    """

    port: int = 8000
    auth_mode: Literal["dev", "jwt"] = "dev"
    jwt_secret: str = Field(default_factory=lambda: secrets.token_urlsafe(32), min_length=16)
    jwt_algorithm: str = "HS256"
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    token_ttl_s: int = 24 * 3600
    default_model: str = "echo-1"
    models_file: Path | None = None  # the model catalogue (PARLEY_MODELS_FILE; else bundled)
    default_session_name: str = "New chat"
    max_wait_s: float = 60.0
    stream_timeout_s: float = 120.0
    max_content_chars: int = 32_000
    max_name_chars: int = 200
    max_metadata_bytes: int = 16_384
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    query_timeout_s: float = 5.0
    naming_timeout_s: float = Field(default=40.0, gt=0)  # suggestions and regenerate
    idempotency_ttl_s: float = Field(default=24 * 3600, gt=0)
    reply_deadline_s: float = Field(default=15 * 60, gt=0)
    maintenance_s: float = Field(default=60.0, gt=0)
    db_command_timeout_s: float | None = Field(default=5.0, gt=0)
    default_idle_ttl_s: int | None = Field(default=None, ge=1, le=MAX_IDLE_TTL_S)
