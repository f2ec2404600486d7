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

    def propose_with_language(self, turns: Sequence[Turn]) -> tuple[str | None, str | None]:
        """A short name for the conversation (None when none can be made yet) and the ISO 639-1
        code of the language it is in (None when unknown)."""
        ...


def should_attempt(status: NamingStatus, reply_turn: int) -> bool:
    """Whether the reply of user turn ``reply_turn`` triggers a naming attempt."""
    return status == "pending" and 1 <= reply_turn <= MAX_EXCHANGES
