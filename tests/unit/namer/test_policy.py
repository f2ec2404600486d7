"""When the namer tries to name a session, and when it never will again."""

from __future__ import annotations

from parley_namer.domain.policy import is_milestone, is_settled, only_keeps, should_attempt


def test_attempts_follow_the_first_three_replies_of_unnamed_sessions() -> None:
    assert [should_attempt("pending", turn) for turn in (1, 2, 3, 4)] == [True, True, True, False]
    assert not should_attempt("named", 2)
    assert not should_attempt("user", 1)
    assert [is_milestone(turn) for turn in (0, 1, 3, 4)] == [False, True, True, False]


def test_a_named_session_is_settled_for_good() -> None:
    assert [is_settled(s) for s in ("pending", "named", "user")] == [False, True, True]
    assert not any(should_attempt(s, t) for s in ("named", "user") for t in range(1, 5))


def test_only_events_that_just_keep_their_message_may_be_batched() -> None:
    assert not only_keeps("message", 1, known_settled=False)  # the provisional name
    assert only_keeps("message", 2, known_settled=False)
    assert not only_keeps("reply", 1, known_settled=False)  # an attempt may follow
    assert not only_keeps("reply", 2, known_settled=True)  # needs nothing: not batched
    assert not only_keeps("message", 2, known_settled=True)
    assert only_keeps("reply", 4, known_settled=False)  # past the naming turns
