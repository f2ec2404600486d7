"""Supervision for the dev runner: restart what crashed, with backoff; stop everything in a
bounded time.

A :class:`Supervisor` watches *units* — anything with ``name``, ``start()``, ``alive()`` and
``stop(timeout_s)``: the embedded servers and the service processes (:class:`ServiceProcess`).
Units come in *tiers* (servers, then services): started tier by tier, stopped in reverse tier
order, the units of one tier stopped at once. :meth:`Supervisor.poll` is one pass of the policy:

* a unit found dead is scheduled to start again after ``Backoff.delay(failures)`` seconds
  (exponential: ``initial_s * factor**(failures - 1)`` capped at ``max_s``), and the log says so;
* a unit that ran ``stable_s`` seconds before dying counts as a first failure again;
* a restart that raises counts as one more failure and is scheduled again.

The clock is injected, so the policy is unit-tested without processes or sleeping.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from parley_runtime.processes import die_with_parent, stop_process_group

log = structlog.get_logger("parley.run")


class Unit(Protocol):
    """Something the supervisor starts, watches and stops."""

    name: str

    def start(self) -> object:
        """Start (or start again); raise if it cannot."""
        ...

    def alive(self) -> bool:
        """Whether it is running now."""
        ...

    def stop(self, timeout_s: float) -> None:
        """Stop within about ``timeout_s`` seconds, forcibly if need be; no-op if stopped."""
        ...


@dataclass(frozen=True)
class Backoff:
    """Restart delays in seconds: ``initial_s * factor**(failures - 1)``, at most ``max_s``.

    A unit that ran at least ``stable_s`` seconds before it died starts again from
    ``failures = 1``.
    """

    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 15.0
    stable_s: float = 30.0

    def delay(self, failures: int) -> float:
        """The delay before restart number ``failures`` (1 for the first)."""
        if failures < 1:
            return 0.0
        return float(min(self.max_s, self.initial_s * self.factor ** (failures - 1)))


@dataclass
class _State:
    unit: Unit
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    restarts: int = 0


@dataclass
class Supervisor:
    """Starts, watches and stops tiers of units (see the module docstring).

    ``tiers`` is the number of tiers; :meth:`start` puts a unit in one.
    """

    tiers: int = 2
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.monotonic
    _states: dict[str, _State] = field(default_factory=dict, init=False)
    _tiers: list[list[Unit]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._tiers = [[] for _ in range(self.tiers)]

    def start(self, unit: Unit, tier: int) -> None:
        """Start ``unit`` and supervise it from now on, in tier ``tier`` (0 = stopped last).

        Raises what ``unit.start()`` raises (then the unit is not supervised)."""
        unit.start()
        self._states[unit.name] = _State(unit, started_at=self.clock())
        self._tiers[tier].append(unit)

    def restarts(self, name: str) -> int:
        """How many times unit ``name`` was started again after a crash."""
        return self._states[name].restarts

    def poll(self) -> list[str]:
        """One supervision pass; returns what it did, as ``"<name> crashed"`` /
        ``"<name> restarted"`` / ``"<name> restart failed"`` lines (also logged)."""
        done: list[str] = []
        now = self.clock()
        for state in self._states.values():
            unit = state.unit
            if state.restart_at is None:
                if unit.alive():
                    continue
                if now - state.started_at >= self.backoff.stable_s:
                    state.failures = 0
                state.failures += 1
                delay = self.backoff.delay(state.failures)
                state.restart_at = now + delay
                log.error(
                    "process exited; restarting it",
                    unit=unit.name,
                    in_s=round(delay, 2),
                    failures=state.failures,
                )
                done.append(f"{unit.name} crashed")
                continue
            if now < state.restart_at:
                continue
            try:
                unit.stop(1.0)  # reap what is left of it before starting again
                unit.start()
            except Exception as exc:
                state.failures += 1
                delay = self.backoff.delay(state.failures)
                state.restart_at = self.clock() + delay
                log.error(
                    "restart failed; trying again",
                    unit=unit.name,
                    in_s=round(delay, 2),
                    error=str(exc)[:500],
                )
                done.append(f"{unit.name} restart failed")
                continue
            state.restart_at = None
            state.started_at = self.clock()
            state.restarts += 1
            log.warning("process restarted", unit=unit.name, restarts=state.restarts)
            done.append(f"{unit.name} restarted")
        return done

    def stop_all(self, timeout_s: float = 20.0) -> None:
        """Stop every unit, the last tier first, the units of a tier at once; the whole stop
        takes about ``timeout_s`` seconds at most (split between the tiers)."""
        per_tier = timeout_s / max(1, sum(1 for tier in self._tiers if tier))
        for tier in reversed(self._tiers):
            if not tier:
                continue
            with ThreadPoolExecutor(max_workers=len(tier)) as pool:
                for future in [pool.submit(unit.stop, per_tier) for unit in tier]:
                    try:
                        future.result()
                    except Exception:
                        log.exception("stopping a process failed")


class ServiceProcess:
    """A Parley service run as ``python -m <module>`` in its own process group, killed with
    its parent on Linux (``PR_SET_PDEATHSIG``), at CPU niceness ``nice`` (added to the
    runner's, see nice(2); 0 keeps the runner's priority)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], *, nice: int = 0) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.nice = nice
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        """Start the process (not waiting for it to be ready)."""
        parent_death = die_with_parent()
        nice = self.nice

        def preexec() -> None:
            if parent_death is not None:
                parent_death()
            if nice:
                os.nice(nice)

        self.proc = subprocess.Popen(
            self.argv, env=self.env, start_new_session=True, preexec_fn=preexec
        )
        return self

    def alive(self) -> bool:
        """Whether the process runs."""
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id, or ``None`` before the first start."""
        return None if self.proc is None else self.proc.pid

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``timeout_s`` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is not None:  # exited on its own: its group may still hold children
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            return
        stop_process_group(self.proc, signal.SIGTERM, timeout_s)
