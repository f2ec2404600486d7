"""When the namer tries to name a session, and when it never will again."""

from __future__ import annotations

from parley_namer.domain.policy import is_milestone, is_settled, should_attempt


def test_attempts_follow_the_first_three_replies_of_unnamed_sessions() -> None:
    assert [should_attempt("pending", turn) for turn in (1, 2, 3, 4)] == [True, True, True, False]
    assert not should_attempt("named", 2)
    assert not should_attempt("user", 1)
    assert [is_milestone(turn) for turn in (0, 1, 3, 4)] == [False, True, True, False]


def test_a_named_session_is_settled_for_good() -> None:
    assert [is_settled(s) for s in ("pending", "named", "user")] == [False, True, True]
    assert not any(should_attempt(s, t) for s in ("named", "user") for t in range(1, 5))
