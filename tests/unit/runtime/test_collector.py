"""A started service's garbage collector: what is alive then is frozen, and the thresholds are
set for a long run (CPython's own state is put back after the test)."""

from __future__ import annotations

import gc

from parley_runtime import collector


def test_settle_freezes_what_is_alive_and_sets_the_thresholds() -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    try:
        collector.settle()
        assert gc.get_threshold() == collector.THRESHOLDS
        assert gc.get_freeze_count() > 0  # the modules, at least
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert gc.get_freeze_count() == 0
