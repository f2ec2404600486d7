"""Live payloads: views for clients, not records (no stream, no replay).

* :class:`ReplyDelta`: one piece of a reply as the upstream AI streams it, published by chat as
  core NATS on ``<prefix>.live.reply.<session_id>`` and relayed by the gateway as SSE ``delta``.
* :class:`SessionChange`: one change of a session, announced by the gateway inside the
  transaction of the change (PostgreSQL ``NOTIFY``, so under its 8000-byte payload limit) and
  sent to the user's ``GET /api/events`` streams. Only the fields a kind changes are set.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SessionChangeKind = Literal[
    "session.created", "session.updated", "session.named", "session.tagged", "session.deleted"
]


class ReplyDelta(BaseModel):
    """A piece of the reply to user message ``reply_to``: ``index`` counts the pieces from 0."""

    model_config = ConfigDict(frozen=True)

    reply_to: uuid.UUID
    index: int = Field(ge=0)
    text: str

    def to_json(self) -> bytes:
        """The delta as compact JSON bytes (UTF-8)."""
        return self.model_dump_json().encode()


class SessionChange(BaseModel):
    """A change of session ``session_id`` of ``user_id``; ``event`` says which kind.

    ``session.created``: ``name``; ``session.named``: ``name`` and ``name_source``
    (``provisional`` or ``auto``); ``session.updated``: ``name``,
    ``name_source`` and ``is_archived`` after an edit, or ``message_count`` and
    ``last_message_at`` after a message; ``session.tagged``: ``session_tag`` and ``tags``;
    ``session.deleted``: nothing more.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event: SessionChangeKind
    user_id: str
    session_id: uuid.UUID
    name: str | None = None
    name_source: Literal["default", "provisional", "auto", "user"] | None = None
    is_archived: bool | None = None
    message_count: int | None = Field(default=None, ge=0)
    last_message_at: AwareDatetime | None = None
    session_tag: str | None = None
    tags: list[str] | None = None

    def to_json(self) -> str:
        """The change as compact JSON, without the fields it does not set."""
        return self.model_dump_json(exclude_none=True)

    def for_client(self) -> dict[str, object]:
        """The SSE ``data`` of this change: every set field but ``event`` and ``user_id``."""
        return self.model_dump(mode="json", exclude_none=True, exclude={"event", "user_id"})
