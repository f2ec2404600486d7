"""Events of one user's conversation as the namer's tests feed them: a user message and its
reply at turn ``turn`` of ``session`` (a question on sorting a list in Python and its answer)."""

from __future__ import annotations

import uuid

from parley_contracts import MessageCreated, ReplyCompleted

#: The user of these events.
USER = "ann"


def message(session: uuid.UUID, turn: int) -> MessageCreated:
    """The user message of ``turn`` (1-based) in ``session``."""
    return MessageCreated(
        session_id=session, user_id=USER, message_id=uuid.uuid4(), seq=2 * turn - 1, turn=turn,
        content=f"How do I sort a list in Python? ({turn})", model="echo-1",
    )  # fmt: skip


def reply(session: uuid.UUID, turn: int) -> ReplyCompleted:
    """The echo reply of ``turn`` in ``session``."""
    return ReplyCompleted(
        session_id=session, user_id=USER, message_id=uuid.uuid4(), reply_to=uuid.uuid4(),
        turn=turn, content=f"Use sorted(). ({turn})", prompt="", model="echo-1",
        provider="echo", upstream_session_id="up-1", latency_ms=5,
    )  # fmt: skip
