"""When the namer tries to name a session."""

from __future__ import annotations

from parley_namer.domain.policy import should_attempt


def test_attempts_follow_the_first_three_replies_of_unnamed_sessions() -> None:
    assert [should_attempt("pending", turn) for turn in (1, 2, 3, 4)] == [True, True, True, False]
    assert not should_attempt("named", 2)
    assert not should_attempt("user", 1)
