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
