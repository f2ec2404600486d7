"""The turn ledger's rules: turns answered one after the other, a given-up turn never blocks
the session, the upstream session continued and counted."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from parley_chat.domain.turns import TurnLedger


def ledger(**fields: object) -> TurnLedger:
    return TurnLedger(
        session_id=uuid.uuid4(), user_id="u", provider="echo", model="echo-1", **fields
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("last_turn", "turn", "decision"),
    [(0, 1, "answer"), (2, 3, "answer"), (3, 3, "duplicate"), (3, 1, "duplicate"), (1, 3, "wait")],
)
def test_turns_are_answered_one_after_the_other(last_turn: int, turn: int, decision: str) -> None:
    assert ledger(last_turn=last_turn).decide(turn) == decision


def test_a_turn_given_up_already_is_a_duplicate() -> None:
    assert ledger(last_turn=1, failed_turns={3}).decide(3) == "duplicate"


def test_answering_the_next_turn_settles_it_and_counts_the_reply() -> None:
    book = ledger()
    assert book.settle(1, answered=True) is True
    assert (book.last_turn, book.replies) == (1, 1)
    assert book.settle(1, answered=True) is False  # a second delivery changes nothing
    assert book.replies == 1


def test_an_answer_for_a_later_turn_is_refused() -> None:
    book = ledger(last_turn=1)
    assert book.settle(3, answered=True) is False
    assert book.last_turn == 1 and book.failed_turns == set()


def test_a_turn_given_up_early_is_settled_with_its_predecessor() -> None:
    book = ledger(last_turn=1)
    assert book.settle(3, answered=False) is True  # turn 2 is still open: remembered
    assert book.last_turn == 1 and book.failed_turns == {3}
    assert book.decide(2) == "answer"
    assert book.settle(2, answered=True) is True
    assert book.last_turn == 3 and book.failed_turns == set()
    assert book.replies == 1
    assert book.decide(4) == "answer"


def test_a_given_up_next_turn_settles_without_a_reply() -> None:
    book = ledger(last_turn=2, failed_turns={4, 6})
    assert book.settle(3, answered=False) is True
    assert book.last_turn == 4 and book.failed_turns == {6}
    assert book.replies == 0


def test_the_upstream_session_is_continued_and_each_opening_counted() -> None:
    book = ledger()
    assert book.continue_on(None, opened=False) is False
    assert book.continue_on("up-1", opened=True) is True
    assert book.continue_on("up-1", opened=False) is False  # the same head: nothing to store
    assert book.continue_on("up-2", opened=False) is True  # an interaction chain moved its head
    assert (book.upstream_id, book.opened_count) == ("up-2", 1)
    assert book.continue_on("up-3", opened=True) is True  # rebuilt after it was lost
    assert book.opened_count == 2


@given(st.permutations(range(1, 9)), st.sets(st.integers(1, 8)))
def test_whatever_the_order_every_turn_settles_once_and_in_order(
    arrivals: list[int], given_up: set[int]
) -> None:
    """Deliver turns 1..8 in any order, some given up; retry the waiting ones as the bus would.
    Every turn ends settled exactly once, answers only in turn order."""
    book = ledger()
    answered: list[int] = []
    waiting = list(arrivals)
    for _ in range(100):
        if not waiting:
            break
        turn = waiting.pop(0)
        if turn in given_up:
            assert book.settle(turn, answered=False)
            continue
        decision = book.decide(turn)
        if decision == "wait":
            waiting.append(turn)
            continue
        assert decision == "answer"
        assert book.settle(turn, answered=True)
        answered.append(turn)
    assert waiting == []
    assert book.last_turn == 8 and book.failed_turns == set()
    assert answered == sorted(answered)
    assert set(answered) == set(range(1, 9)) - given_up
    assert book.replies == len(answered)


def test_an_upstream_session_stored_meanwhile_moves_the_version_only_when_nothing_else_did() -> None:
    book = TurnLedger(uuid.uuid4(), "ann", "echo", "echo-1", version=3)
    book.opened_as("up-1", 1, 4)  # the store's write was the only one since the read
    assert (book.upstream_id, book.opened_count, book.version) == ("up-1", 1, 4)
    book.opened_as("up-2", 2, 6)  # another write came between: the settle must read again
    assert (book.upstream_id, book.opened_count, book.version) == ("up-2", 2, 4)
