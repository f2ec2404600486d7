"""The schedule of the bench's open load (no servers): every message has a time slot of its own,
the steady part arrives at exactly the rate asked, and a session's messages are about
``THINK_S`` apart."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from parley_cli.load import THINK_S, open_gap_s


def _slots(sessions: int, messages: int, rate: float) -> list[int]:
    """Each message's time slot (its post time times ``rate``), as the driver schedules it."""
    gap = open_gap_s(rate, messages)
    return [
        round((s * messages / rate + m * gap) * rate)
        for s in range(sessions)
        for m in range(messages)
    ]


@pytest.mark.parametrize(("rate", "messages"), [(50.0, 3), (100.0, 3), (20.0, 5), (7.0, 2)])
def test_no_two_messages_share_a_slot(rate: float, messages: int) -> None:
    slots = _slots(200, messages, rate)
    assert len(set(slots)) == len(slots)


def test_the_steady_part_arrives_at_the_rate_with_a_third_first_messages() -> None:
    rate, messages, sessions = 50.0, 3, 200
    gap = open_gap_s(rate, messages)
    ramp = math.ceil((messages - 1) * gap)  # whole seconds past the ramp-up ...
    end = math.floor((sessions - 1) * messages / rate)  # ... and before the ramp-down
    per_second = Counter(
        int(slot / rate) for slot in _slots(sessions, messages, rate) if ramp <= slot / rate < end
    )
    assert sorted(per_second) == list(range(ramp, end))
    assert set(per_second.values()) == {int(rate)}
    firsts = [s for s in range(sessions) if ramp <= s * messages / rate < end]
    assert abs(len(firsts) * messages - sum(per_second.values())) <= messages


@pytest.mark.parametrize("rate", [5.0, 50.0, 200.0])
def test_a_sessions_messages_are_about_the_think_time_apart(rate: float) -> None:
    gap = open_gap_s(rate, 3)
    assert abs(gap - THINK_S) <= 3 / rate + 1 / rate
