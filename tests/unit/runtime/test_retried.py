"""A write refused for a conflict is tried again a bounded number of times (:func:`retried`),
and anything else it raises is not tried again."""

from __future__ import annotations

import pytest
from parley_runtime import WriteConflict, retried


async def test_a_conflict_is_tried_again_until_a_try_goes_through() -> None:
    tries: list[int] = []

    async def attempt(n: int) -> str:
        tries.append(n)
        if n < 2:
            raise WriteConflict("changed meanwhile")
        return "written"

    assert await retried(attempt, tries=3) == "written"
    assert tries == [0, 1, 2]


async def test_the_last_conflict_and_any_other_error_are_raised() -> None:
    tries: list[int] = []

    async def always_conflicts(n: int) -> None:
        tries.append(n)
        raise KeyError("a conflict of the caller's kind")

    with pytest.raises(KeyError):
        await retried(always_conflicts, tries=2, conflict=KeyError)
    assert tries == [0, 1]

    async def fails(n: int) -> None:
        tries.append(n)
        raise ValueError("not a conflict")

    with pytest.raises(ValueError):
        await retried(fails, tries=3)
    assert tries == [0, 1, 0]  # no second try
