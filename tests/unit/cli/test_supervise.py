"""The supervision policy: backoff, restart of what died, failed restarts, bounded stop."""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

from parley_cli.devrun import BACKGROUND_NICE, SERVICES, dev_token_secret
from parley_cli.supervise import Backoff, ServiceProcess, Supervisor


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeUnit:
    """A unit whose life the test decides."""

    def __init__(self, name: str, log: list[str], stop_s: float = 0.0) -> None:
        self.name = name
        self.running = False
        self.starts = 0
        self.fail_starts = 0
        self.stop_s = stop_s
        self.log = log

    def start(self) -> None:
        if self.fail_starts:
            self.fail_starts -= 1
            raise RuntimeError("port in use")
        self.starts += 1
        self.running = True
        self.log.append(f"start {self.name}")

    def alive(self) -> bool:
        return self.running

    def stop(self, timeout_s: float) -> None:
        if self.running:
            time.sleep(min(self.stop_s, timeout_s))
            self.log.append(f"stop {self.name}")
        self.running = False


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(initial_s=0.5, factor=2, max_s=4)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1, 2, 4, 4, 4]


def test_a_crashed_unit_is_restarted_after_the_backoff_and_the_others_keep_running() -> None:
    clock, log = FakeClock(), []
    supervisor = Supervisor(tiers=2, backoff=Backoff(initial_s=1, stable_s=30), clock=clock)
    nats, chat = FakeUnit("nats", log), FakeUnit("chat", log)
    supervisor.start(nats, tier=0)
    supervisor.start(chat, tier=1)
    assert supervisor.poll() == []
    chat.running = False
    assert supervisor.poll() == ["chat crashed"]
    assert nats.running and nats.starts == 1
    clock.now += 0.5
    assert supervisor.poll() == []  # still backing off
    clock.now += 0.6
    assert supervisor.poll() == ["chat restarted"]
    assert chat.running and chat.starts == 2 and supervisor.restarts("chat") == 1


def test_repeated_crashes_back_off_longer_and_a_stable_run_resets_the_count() -> None:
    clock, log = FakeClock(), []
    supervisor = Supervisor(
        tiers=1, backoff=Backoff(initial_s=1, factor=2, stable_s=30), clock=clock
    )
    unit = FakeUnit("namer", log)
    supervisor.start(unit, tier=0)
    delays = []
    for _ in range(3):
        unit.running = False
        supervisor.poll()
        crashed_at = clock.now
        while not unit.running:
            clock.now += 0.25
            supervisor.poll()
        delays.append(clock.now - crashed_at)
    assert delays == [1.0, 2.0, 4.0]
    clock.now += 31  # ran long enough: the next crash is a first one again
    unit.running = False
    supervisor.poll()
    clock.now += 1.0
    assert supervisor.poll() == ["namer restarted"]


def test_a_failing_restart_is_tried_again_later() -> None:
    clock, log = FakeClock(), []
    supervisor = Supervisor(tiers=1, backoff=Backoff(initial_s=1, factor=2), clock=clock)
    unit = FakeUnit("postgres", log)
    supervisor.start(unit, tier=0)
    unit.running, unit.fail_starts = False, 1
    supervisor.poll()
    clock.now += 1
    assert supervisor.poll() == ["postgres restart failed"]
    clock.now += 1
    assert supervisor.poll() == []  # the second delay is 2 s
    clock.now += 1
    assert supervisor.poll() == ["postgres restarted"]


def test_stop_all_stops_services_before_servers_and_in_bounded_time() -> None:
    log: list[str] = []
    supervisor = Supervisor(tiers=2)
    servers = [FakeUnit("nats", log, stop_s=0.2), FakeUnit("postgres", log, stop_s=0.2)]
    services = [FakeUnit(name, log, stop_s=5.0) for name in ("gateway", "chat", "namer")]
    for unit in servers:
        supervisor.start(unit, tier=0)
    for unit in services:
        supervisor.start(unit, tier=1)
    started = time.monotonic()
    supervisor.stop_all(timeout_s=2.0)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0 + 0.5  # services stop at once, within their share of the timeout
    stops = [line for line in log if line.startswith("stop")]
    assert set(stops[:3]) == {"stop gateway", "stop chat", "stop namer"}
    assert set(stops[3:]) == {"stop nats", "stop postgres"}
    assert not any(unit.running for unit in servers + services)


def test_dev_token_secret_is_kept_across_starts_with_mode_0600(tmp_path: Path) -> None:
    first = dev_token_secret(tmp_path / ".parley")
    second = dev_token_secret(tmp_path / ".parley")
    assert first == second and len(first) >= 32
    mode = stat.S_IMODE(os.stat(tmp_path / ".parley" / "dev-jwt-secret").st_mode)
    assert mode == 0o600


def test_a_too_short_dev_token_secret_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "dev-jwt-secret").write_text("short")
    secret = dev_token_secret(tmp_path)
    assert len(secret) >= 32 and secret != "short"


def test_a_background_service_process_runs_at_a_lower_cpu_priority(tmp_path: Path) -> None:
    out = tmp_path / "nice"
    code = f"import os; open({str(out)!r}, 'w').write(str(os.nice(0)))"
    process = ServiceProcess("probe", [sys.executable, "-c", code], dict(os.environ), nice=3)
    process.start()
    assert process.proc is not None and process.proc.wait(10) == 0
    assert int(out.read_text()) == os.nice(0) + 3
    niceness = {name: nice for name, _, _, nice in SERVICES}
    assert niceness == {
        "gateway": 0,
        "chat": 0,
        "namer": BACKGROUND_NICE,
        "tagger": BACKGROUND_NICE,
    }
