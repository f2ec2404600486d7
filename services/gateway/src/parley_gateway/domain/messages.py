"""A message of a session and the rules of its status.

A user message is ``pending`` until its reply is stored (``answered``) or it is given up
(``failed``, with the reason); an assistant message is ``completed``. :meth:`Message.fail` is the
one rule for failing: only a pending message fails, so a reply stored first always wins, and
:meth:`Message.answer` lets a late reply land even after a failure.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

Role = Literal["user", "assistant"]
MessageStatus = Literal["pending", "answered", "failed", "completed"]

#: What a failed message says when no reason was recorded.
DEFAULT_FAILURE = "the upstream AI could not answer"


@dataclass
class Message:
    """One message; ``seq`` orders a session's messages from 1 (0 until the session appends it).

    ``reply_to`` is, for an assistant message, the user message it answers.
    """

    id: uuid.UUID
    session_id: uuid.UUID
    role: Role
    content: str
    status: MessageStatus
    seq: int = 0
    reply_to: uuid.UUID | None = None
    error: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def from_user(cls, message_id: uuid.UUID, session_id: uuid.UUID, content: str) -> Message:
        """A new user message, ``pending``."""
        return cls(message_id, session_id, "user", content, "pending")

    @classmethod
    def reply(
        cls, message_id: uuid.UUID, session_id: uuid.UUID, reply_to: uuid.UUID, content: str
    ) -> Message:
        """A new assistant message answering ``reply_to``, ``completed``."""
        return cls(message_id, session_id, "assistant", content, "completed", reply_to=reply_to)

    @property
    def settled(self) -> bool:
        """Whether nothing more will happen to this message (answered, failed or a reply)."""
        return self.status != "pending"

    @property
    def failure(self) -> str | None:
        """Why this message failed (None unless failed)."""
        return (self.error or DEFAULT_FAILURE) if self.status == "failed" else None

    def answer(self, reply: Message) -> None:
        """Mark this user message answered by ``reply`` (also after a failure: a late reply
        still lands).

        Raises:
            ValueError: ``reply`` does not answer this message.
        """
        if reply.reply_to != self.id or reply.role != "assistant":
            raise ValueError(f"message {reply.id} does not answer {self.id}")
        self.status = "answered"
        self.error = None

    def fail(self, reason: str) -> bool:
        """Mark this message failed with ``reason`` if it is still pending; returns whether it
        changed (an answered message stays answered)."""
        if self.status != "pending":
            return False
        self.status = "failed"
        self.error = reason
        return True
