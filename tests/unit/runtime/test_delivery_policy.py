"""The delivery policy, exhaustively: every outcome at every delivery the server can make, with
known and unknown wait counts."""

from __future__ import annotations

import pytest
from parley_runtime.delivery import (
    Ack,
    DeadLetter,
    DeliveryPolicy,
    Dropped,
    Duplicate,
    Failed,
    Handled,
    Nak,
    NotReady,
    Rejected,
    Unavailable,
    needs_waits,
    next_step,
)

POLICY = DeliveryPolicy(max_deliver=5, max_wait_deliveries=30, backoff_s=(0.5, 2.0, 5.0, 15.0))
DELIVERIES = range(1, POLICY.server_max_deliver + 1)


def test_server_limit_leaves_room_for_every_wait_and_failure() -> None:
    assert POLICY.server_max_deliver == 5 + 30 + 2


@pytest.mark.parametrize("delivery", DELIVERIES)
@pytest.mark.parametrize(
    ("outcome", "label"), [(Handled(), "ok"), (Duplicate(), "duplicate"), (Dropped(), "dropped")]
)
def test_settled_outcomes_are_acked_on_any_delivery(outcome, label, delivery) -> None:
    assert next_step(outcome, delivery, 0, POLICY) == Ack(label)
    assert not needs_waits(outcome)


@pytest.mark.parametrize("delivery", DELIVERIES)
def test_rejected_is_dead_lettered_at_once(delivery) -> None:
    step = next_step(Rejected("no such turn"), delivery, 0, POLICY)
    assert step == DeadLetter("unprocessable: no such turn")


@pytest.mark.parametrize("delivery", range(1, 5))
def test_failures_before_the_limit_back_off_by_their_count(delivery) -> None:
    step = next_step(Failed("OSError: boom"), delivery, 0, POLICY)
    assert step == Nak(POLICY.backoff_s[delivery - 1], count_wait=False, label="retried")


def test_the_fifth_failure_is_dead_lettered_with_its_error() -> None:
    assert next_step(Failed("OSError: boom"), 5, 0, POLICY) == DeadLetter("OSError: boom")


@pytest.mark.parametrize("waits", [0, 3, 20])
def test_waits_do_not_count_as_failures(waits) -> None:
    # The delivery after `waits` waits and 2 failures is the third failure.
    step = next_step(Failed("E: x"), waits + 3, waits, POLICY)
    assert step == Nak(POLICY.backoff_s[2], count_wait=False, label="retried")
    assert next_step(Failed("E: x"), waits + 5, waits, POLICY) == DeadLetter("E: x")


def test_unknown_wait_count_counts_a_failure_as_the_first() -> None:
    assert next_step(Failed("E: x"), 30, None, POLICY) == Nak(
        0.5, count_wait=False, label="retried"
    )


@pytest.mark.parametrize("outcome", [Failed("E: x"), NotReady("earlier turn", 0.5)])
@pytest.mark.parametrize("waits", [None, 0, 1])
def test_the_servers_last_delivery_is_dead_lettered_never_dropped(outcome, waits) -> None:
    last = POLICY.server_max_deliver - 1
    assert isinstance(next_step(outcome, last, waits, POLICY), DeadLetter)
    assert isinstance(next_step(outcome, last + 1, waits, POLICY), DeadLetter)


@pytest.mark.parametrize(("waits", "delay"), [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (5, 15.0)])
def test_a_wait_doubles_its_delay_up_to_15_s_and_is_counted(waits, delay) -> None:
    step = next_step(NotReady("earlier turn", 0.5), waits + 1, waits, POLICY)
    assert step == Nak(delay, count_wait=True, label="waiting")


def test_waits_end_in_a_dead_letter_once_spent() -> None:
    step = next_step(NotReady("earlier turn", 0.5), 30, 29, POLICY)
    assert step == DeadLetter("still not ready: earlier turn")
    assert isinstance(next_step(NotReady("e", 0.5), 29, 27, POLICY), Nak)


def test_outcomes_that_read_the_wait_count() -> None:
    assert needs_waits(Failed("E: x")) and needs_waits(NotReady("e", 1.0))
    assert not needs_waits(Rejected("r"))


@pytest.mark.parametrize(("failures", "delay"), [(0, 0.5), (1, 0.5), (4, 15.0), (99, 15.0)])
def test_backoff_repeats_its_last_step(failures, delay) -> None:
    assert POLICY.backoff(failures) == delay
    assert DeliveryPolicy(5, 30, ()).backoff(3) == 1.0


def test_every_outcome_and_delivery_has_a_step() -> None:
    outcomes = [Handled(), Duplicate(), Dropped(), Rejected("r"), Failed("E"), NotReady("n", 0.2)]
    for outcome in outcomes:
        for delivery in DELIVERIES:
            for waits in (None, 0, delivery - 1):
                step = next_step(outcome, delivery, waits, POLICY)
                assert isinstance(step, Ack | Nak | DeadLetter)
                if isinstance(step, Nak):
                    assert 0 < step.delay_s <= 15.0


@pytest.mark.parametrize("delivery", range(1, POLICY.server_max_deliver - 1))
def test_a_database_outage_is_redelivered_with_a_growing_delay_never_dead_lettered_early(
    delivery,
) -> None:
    outages = delivery - 1
    step = next_step(Unavailable("ConnectionRefusedError"), delivery, None, POLICY, outages)
    assert isinstance(step, Nak) and not step.count_wait and step.label == "unavailable"
    assert step.delay_s == min(2.0**outages, 15.0)


def test_an_outage_at_the_servers_last_delivery_is_dead_lettered() -> None:
    last = POLICY.server_max_deliver - 1
    step = next_step(Unavailable("CannotConnectNowError"), last, None, POLICY, last - 1)
    assert step == DeadLetter("database unavailable: CannotConnectNowError")


def test_deliveries_spent_in_an_outage_do_not_count_as_failures() -> None:
    # Delivery 12 after 9 outage deliveries and 1 wait: this is the second failure, not the 12th.
    step = next_step(Failed("ValueError: x"), 12, 1, POLICY, outages=9)
    assert step == Nak(POLICY.backoff(2), count_wait=False, label="retried")
    # Without the outage count, the same delivery would be dead-lettered.
    assert next_step(Failed("ValueError: x"), 12, 1, POLICY) == DeadLetter("ValueError: x")


def test_an_outage_needs_no_wait_count() -> None:
    assert not needs_waits(Unavailable("lost"))

