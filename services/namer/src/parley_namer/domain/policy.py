"""When the namer tries, and the port of whatever proposes a name.

Attempt 1 follows the first reply (message 2); a failed attempt is retried after messages 4 and 6
(the replies of turns 2 and 3). A session named automatically, or by its user, is not named again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from .names import MAX_EXCHANGES, Turn

NamingStatus = Literal["pending", "named", "user"]


class Namer(Protocol):
    """Proposes a session name from the first exchanges (synchronous; may be CPU-bound)."""

    def propose(self, turns: Sequence[Turn]) -> str | None:
        """A short name for the conversation, or None when none can be made yet."""
        ...

    def detect_language(self, text: str) -> str | None:
        """The ISO 639-1 code of ``text``'s language, or None."""
        ...


def should_attempt(status: NamingStatus, reply_turn: int) -> bool:
    """Whether the reply of user turn ``reply_turn`` triggers a naming attempt."""
    return status == "pending" and 1 <= reply_turn <= MAX_EXCHANGES
