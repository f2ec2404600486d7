"""Turn order: the user messages of a session are answered one after the other."""

from __future__ import annotations

from typing import Literal

Decision = Literal["answer", "duplicate", "wait"]


def decide(last_answered_turn: int, turn: int) -> Decision:
    """What to do with user turn ``turn`` when turns up to ``last_answered_turn`` are settled.

    ``answer`` the next turn; a turn already settled is a ``duplicate``; a later one must ``wait``
    for its predecessors (so each reply sees the previous ones).
    """
    if turn <= last_answered_turn:
        return "duplicate"
    if turn == last_answered_turn + 1:
        return "answer"
    return "wait"


def advance(last_settled: int, turn: int, failed_ahead: set[int]) -> int | None:
    """Settle ``turn`` after ``last_settled``; returns the new last settled turn, or None when
    ``turn`` is not the next one. Turns already given up (``failed_ahead``) that follow are
    settled with it, so the session moves on past them.
    """
    if turn != last_settled + 1:
        return None
    while turn + 1 in failed_ahead:
        turn += 1
    return turn
