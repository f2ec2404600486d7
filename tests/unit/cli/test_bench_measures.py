"""The bench's measures: percentiles, process roles, CPU per reply (no servers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from parley_cli.bench import percentile, render, wait_idle
from parley_cli.cpu import ROLES, CpuSnapshot, per_reply, role_of

DATA = Path("/tmp/parley-bench-x")


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1.0], 0.5, 1.0),
        ([3.0, 1.0, 2.0], 0.5, 2.0),
        (list(map(float, range(1, 101))), 0.95, 95.0),
        (list(map(float, range(1, 101))), 0.99, 99.0),
        (list(map(float, range(1, 101))), 1.0, 100.0),
        ([5.0, 7.0], 0.0, 5.0),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == expected


def test_percentile_of_nothing_is_nan() -> None:
    assert percentile([], 0.5) != percentile([], 0.5)


@pytest.mark.parametrize(
    ("cmdline", "role"),
    [
        (["/usr/bin/python3", "-m", "parley_gateway"], "gateway"),
        (["python", "-m", "parley_chat"], "chat"),
        (["python", "-m", "parley_namer"], "namer"),
        (["python", "-m", "parley_tagger"], "tagger"),
        (["/venv/pgserver/pginstall/bin/postgres", "-D", f"{DATA}/pg/pgdata"], "postgres"),
        (["/venv/bin/nats-server", "-js", "-sd", f"{DATA}/nats"], "nats"),
        (["/venv/bin/nats-server", "-js", "-sd", "/elsewhere/nats"], None),
        (["/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql"], None),
        (["python", "-m", "pytest"], None),
        ([], None),
    ],
)
def test_processes_are_told_apart_by_command_line(cmdline: list[str], role: str | None) -> None:
    assert role_of(cmdline, DATA) == role


def test_without_a_data_folder_only_services_count() -> None:
    assert role_of(["/venv/bin/nats-server", "-sd", f"{DATA}/nats"], None) is None
    assert role_of(["python", "-m", "parley_chat"], None) == "chat"


def test_cpu_per_reply_divides_the_window_and_sums_it() -> None:
    before = CpuSnapshot({"gateway": 1.0, "postgres": 2.0})
    after = CpuSnapshot({"gateway": 1.5, "postgres": 2.2, "nats": 0.1})
    spent = after.minus(before)
    assert spent["gateway"] == pytest.approx(500.0)
    assert spent["postgres"] == pytest.approx(200.0)
    assert spent["chat"] == 0.0
    out = per_reply(spent, 100)
    assert out["gateway"] == pytest.approx(5.0)
    assert out["total"] == pytest.approx(8.0)
    assert set(out) == {*ROLES, "total"}
    assert per_reply(spent, 0) == {}


def test_a_restarted_process_never_counts_negative_time() -> None:
    assert CpuSnapshot({"chat": 0.2}).minus(CpuSnapshot({"chat": 5.0}))["chat"] == 0.0


def test_the_report_names_the_offered_load_and_every_process() -> None:
    summary = {"p50": 1.0, "p95": 2.0, "p99": 3.0, "max": 4.0}
    report = {
        "load": {
            "sessions": 10,
            "messages_per_session": 3,
            "mode": "open",
            "concurrency": None,
            "rate_per_s": 50.0,
            "warmup_sessions": 2,
        },
        "replies": 30,
        "failures": 0,
        "failure_examples": [],
        "wall_s": 1.5,
        "replies_per_s": 20.0,
        "reply_ms": summary,
        "name_after_first_reply_ms": summary,
        "tag_after_create_ms": summary,
        "cpu_ms_per_reply": per_reply({"gateway": 30.0, "nats": 3.0}, 30),
    }
    text = render(report)
    assert "open at 50 messages/s" in text
    assert "throughput=20.0 replies/s" in text
    assert "gateway=1.0" in text and "nats=0.1" in text and "total=1.1" in text


class FakeStack:
    """A stack whose CPU grows by ``busy_ms`` per read for ``busy_reads`` reads, then stays."""

    def __init__(self, busy_reads: int, busy_ms: float = 100.0) -> None:
        self.reads, self.busy_reads, self.busy_ms, self.total = 0, busy_reads, busy_ms, 0.0

    def cpu(self) -> CpuSnapshot:
        self.reads += 1
        if self.reads <= self.busy_reads:
            self.total += self.busy_ms / 1000
        return CpuSnapshot({"namer": self.total})


async def test_the_measured_window_waits_for_the_stack_to_be_idle() -> None:
    stack = FakeStack(busy_reads=4)
    waited = await wait_idle(stack, step_s=0.01, timeout_s=5)  # type: ignore[arg-type]
    assert stack.reads == 5 and waited < 1  # a first read, 3 busy intervals, 1 idle one


async def test_a_stack_that_never_idles_is_measured_after_the_timeout() -> None:
    stack = FakeStack(busy_reads=10_000)
    waited = await wait_idle(stack, step_s=0.01, timeout_s=0.1)  # type: ignore[arg-type]
    assert 0.1 <= waited < 0.5
