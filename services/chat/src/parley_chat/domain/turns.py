"""The turn ledger: what the chat service keeps of one Parley session, and its rules.

A session's user messages are *turns* 1, 2, 3, … answered strictly one after the other, so each
reply sees the ones before it. A turn is *settled* when it is answered or given up; a turn given
up before its predecessors settle is remembered (``failed_turns``) and settled with them, so one
failed turn never blocks the rest of the session. The ledger also holds the upstream session to
continue (``upstream_id``) and counts how often one was opened (``opened_count``: 1 for a
session whose upstream was never lost). Its ``version`` is the stored one it was read at: each
save stores the next, and only over that one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

Decision = Literal["answer", "duplicate", "wait"]


@dataclass
class TurnLedger:
    """One session's upstream session and turn order (``last_turn``: the last settled turn)."""

    session_id: uuid.UUID
    user_id: str
    provider: str
    model: str
    upstream_id: str | None = None
    opened_count: int = 0
    last_turn: int = 0
    failed_turns: set[int] = field(default_factory=set)
    replies: int = 0
    version: int = 0

    def decide(self, turn: int) -> Decision:
        """What to do with user turn ``turn`` now: ``answer`` the next turn; a turn settled or
        given up already is a ``duplicate``; a later one must ``wait`` for its predecessors."""
        if turn <= self.last_turn or turn in self.failed_turns:
            return "duplicate"
        if turn == self.last_turn + 1:
            return "answer"
        return "wait"

    @property
    def next_turn(self) -> int:
        """The turn that is answered next."""
        return self.last_turn + 1

    def settle(self, turn: int, *, answered: bool) -> bool:
        """Settle ``turn``, answered or given up; False when that changes nothing (it was
        settled already, or an answer arrived for a turn that is not next).

        An answered turn must be the next one; the given-up turns right after it settle with it.
        A turn given up out of order is kept in ``failed_turns`` until its predecessors settle.
        """
        if self.decide(turn) == "duplicate":
            return False
        if turn != self.next_turn:
            if answered:
                return False
            self.failed_turns.add(turn)
            return True
        while turn + 1 in self.failed_turns:
            turn += 1
        self.last_turn = turn
        self.failed_turns = {t for t in self.failed_turns if t > turn}
        self.replies += 1 if answered else 0
        return True

    def continue_on(self, upstream_id: str | None, *, opened: bool) -> bool:
        """Continue on upstream session ``upstream_id`` from now on (None: keep the current
        one); ``opened`` counts it as newly opened. Returns whether anything changed."""
        if upstream_id is None or (upstream_id == self.upstream_id and not opened):
            return False
        self.upstream_id = upstream_id
        self.opened_count += 1 if opened else 0
        return True

    def opened_as(self, upstream_id: str, opened_count: int, version: int) -> None:
        """Take upstream session ``upstream_id``, opened and stored already (before the turn's
        reply), with ``opened_count`` as the store counted it. The stored ``version`` is taken
        too when that store was the only write since this ledger was read (one up); else the
        ledger keeps the version it was read at, so that its settle finds the row changed and
        settles on a fresh read."""
        self.upstream_id = upstream_id
        self.opened_count = opened_count
        if version == self.version + 1:
            self.version = version
