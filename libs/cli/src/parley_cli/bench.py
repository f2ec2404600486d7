"""``parley bench``: the pipeline benchmark.

Starts the whole stack (``parley run`` with a temporary data folder, embedded servers, the echo
upstream) unless ``--base-url`` names a running gateway, then drives it over HTTP as one user
(see :mod:`parley_cli.load` for closed and open load). A warm-up of ``warmup`` sessions runs
first and is not measured. Then it measures, in milliseconds: reply latency (POST to stored reply,
p50/p95/p99/max), time from a session's first reply until the client sees its automatic name,
from its creation until it sees its tag (both through ``GET /api/events``); throughput in replies
per second; and the CPU milliseconds per reply of every process of the stack (each service,
PostgreSQL, NATS; see :mod:`parley_cli.cpu`), summed over the measured window. Numbers depend on
the machine; compare runs on the same one.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from parley_runtime.embedded import free_port

from . import cpu
from .load import Driver, Load, Samples
from .profile import Profiler
from .watch import SessionWatch


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by the nearest-rank method; NaN when empty."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 0.5),
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
        "max": max(values) if values else float("nan"),
    }


@dataclass
class Stack:
    """Where the measured stack runs: its gateway, and what to read CPU times of."""

    base_url: str
    data_dir: Path | None = None
    runner_pid: int | None = None
    database_url: str | None = None

    def cpu(self) -> cpu.CpuSnapshot:
        """The stack's CPU times now."""
        return cpu.snapshot(self.data_dir, self.runner_pid)


#: The stack counts as idle below this share of one CPU (the measured window waits for it).
IDLE_CPU_SHARE = 0.05
#: How often the stack's CPU is read while waiting for it to be idle, and for how long at most.
IDLE_STEP_S = 0.25
IDLE_TIMEOUT_S = 10.0


async def wait_idle(
    stack: Stack,
    *,
    share: float = IDLE_CPU_SHARE,
    step_s: float = IDLE_STEP_S,
    timeout_s: float = IDLE_TIMEOUT_S,
) -> float:
    """Wait until the whole stack uses less than ``share`` of one CPU over ``step_s`` seconds
    (the work left from the warm-up and the services' own start-up, such as the namer warming
    its word segmenters, is done), or ``timeout_s`` seconds passed; returns the seconds waited."""
    started = time.monotonic()
    before = stack.cpu()
    while time.monotonic() - started < timeout_s:
        await asyncio.sleep(step_s)
        now = stack.cpu()
        if sum(now.minus(before).values()) < share * step_s * 1000:
            break
        before = now
    return time.monotonic() - started


async def drive(
    stack: Stack, load: Load, *, warmup: int, profile_dir: Path | None = None
) -> dict[str, Any]:
    """Warm up, wait for the stack to be idle (:func:`wait_idle`), run ``load`` against
    ``stack`` and return the report as a dict (milliseconds, replies per second, CPU ms per reply
    per process). With ``profile_dir``, each service
    process is recorded with py-spy during the measured window (:mod:`parley_cli.profile`) and
    the report lists the flame graphs (``profiles``) and any recorder that wrote none."""
    profiler = Profiler(profile_dir, stack.data_dir, stack.runner_pid) if profile_dir else None
    flame_graphs: list[Path] = []
    profile_problems: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=REQUEST_TIMEOUT_S) as http:
        r = await http.post("/api/auth/token", json={"user_id": f"bench-{os.getpid()}"})
        r.raise_for_status()
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        watch = SessionWatch(http, headers)
        await watch.start()
        driver = Driver(http, headers, watch)
        try:
            if warmup:
                warm = Load(sessions=warmup, messages=load.messages, concurrency=load.concurrency)
                await driver.run(warm, Samples(), label="warm-up")
            idle_after_s = await wait_idle(stack)
            samples = Samples()
            if profiler is not None:
                flame_graphs = profiler.start()
            before, started = stack.cpu(), time.monotonic()
            try:
                await driver.run(load, samples, label="measured")
            finally:
                wall = time.monotonic() - started
                spent = stack.cpu().minus(before)
                if profiler is not None:
                    profile_problems = await asyncio.to_thread(profiler.stop)
        finally:
            await watch.stop()
    replies = len(samples.reply)
    return {
        "load": {
            "sessions": load.sessions,
            "messages_per_session": load.messages,
            "mode": "open" if load.rate else "closed",
            "concurrency": None if load.rate else load.concurrency,
            "rate_per_s": load.rate,
            "warmup_sessions": warmup,
        },
        "idle_wait_s": idle_after_s,
        "replies": replies,
        "failures": len(samples.failures),
        "failure_examples": samples.failures[:5],
        "wall_s": wall,
        "replies_per_s": replies / wall if wall else 0.0,
        "reply_ms": _summary(samples.reply),
        "name_after_first_reply_ms": _summary(samples.name),
        "tag_after_create_ms": _summary(samples.tag),
        "cpu_ms_per_reply": cpu.per_reply(spent, replies),
        "profiles": [str(p) for p in flame_graphs if str(p) not in profile_problems],
        "profile_problems": profile_problems,
    }


#: Seconds an HTTP request of the bench may take (a reply is waited for up to 30 s of them).
REQUEST_TIMEOUT_S = 60


def render(report: dict[str, Any]) -> str:
    """The human-readable form of a :func:`drive` report."""
    load, cpu_ms = report["load"], report["cpu_ms_per_reply"]
    offered = (
        f"open at {load['rate_per_s']:g} messages/s"
        if load["mode"] == "open"
        else f"closed, {load['concurrency']} sessions at once"
    )

    def line(title: str, s: dict[str, float], unit: str = "ms") -> str:
        return f"{title} {unit}: " + " ".join(f"{k}={v:.1f}" for k, v in s.items())

    lines = [
        f"sessions={load['sessions']} messages/session={load['messages_per_session']}"
        f" load={offered} warm-up={load['warmup_sessions']} sessions",
        f"replies={report['replies']} failures={report['failures']} wall={report['wall_s']:.1f}s"
        f" throughput={report['replies_per_s']:.1f} replies/s",
        line("reply latency", report["reply_ms"]),
        line("first reply -> name seen", report["name_after_first_reply_ms"]),
        line("session created -> tag seen", report["tag_after_create_ms"]),
        "CPU ms per reply: " + " ".join(f"{k}={v:.1f}" for k, v in cpu_ms.items()),
    ]
    lines += [f"flame graph: {path}" for path in report.get("profiles", [])]
    lines += [
        f"  no flame graph {p}: {why}" for p, why in report.get("profile_problems", {}).items()
    ]
    lines += [f"  failure: {f}" for f in report["failure_examples"]]
    return "\n".join(lines)


def _start_stack(replicas: int) -> tuple[Stack, subprocess.Popen[str]] | None:
    """``parley run`` on a fresh data folder and free ports; None if it did not become ready."""
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    env = dict(os.environ)
    env["PARLEY_LOG_LEVEL"] = "WARNING"
    runner = subprocess.Popen(
        [sys.executable, "-m", "parley_cli.main", "run", "--data-dir", str(data)]
        + ["--port", str(port), "--free-ports", "--replicas", str(replicas)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    # The runner prints its usage once every service answers /readyz; it exits (and the pipe
    # ends) if they do not within its own time limit.
    assert runner.stdout is not None
    running = False
    for out in runner.stdout:
        running = running or out.startswith("Parley is running")
        if running and out.strip().startswith("PostgreSQL:"):
            threading.Thread(target=runner.stdout.read, daemon=True).start()
            database_url = out.split(":", 1)[1].strip()
            return Stack(f"http://127.0.0.1:{port}", data, runner.pid, database_url), runner
    runner.wait()
    shutil.rmtree(data, ignore_errors=True)
    return None


def run_bench(
    *,
    base_url: str | None,
    load: Load,
    warmup: int,
    replicas: int = 1,
    as_json: bool = False,
    reads: bool = False,
    database_url: str | None = None,
    profile_dir: Path | None = None,
) -> int:
    """Start the stack if needed, run :func:`drive` (or, with ``reads``, the read-path bench of
    :mod:`parley_cli.reads`), print the report; returns the exit code (1 when the stack did not
    start or a message went unanswered)."""
    runner = None
    if base_url is None:
        started = _start_stack(replicas)
        if started is None:
            print("the stack did not become ready", file=sys.stderr)
            return 1
        stack, runner = started
    else:
        stack = Stack(base_url, database_url=database_url)
    try:
        if reads:
            if stack.database_url is None:
                print("--reads with --base-url needs --database-url", file=sys.stderr)
                return 2
            from .reads import bench_reads, render_reads

            out = asyncio.run(
                bench_reads(
                    stack.base_url,
                    stack.database_url,
                    sessions=10_000,
                    messages=100_000,
                    rounds=200,
                )
            )
            print(json.dumps(out, indent=2) if as_json else render_reads(out))
            return 0
        report = asyncio.run(drive(stack, load, warmup=warmup, profile_dir=profile_dir))
        report["load"]["replicas"] = replicas if runner is not None else None
        print(json.dumps(report, indent=2) if as_json else render(report))
        return 1 if report["failures"] else 0
    finally:
        if runner is not None:
            runner.send_signal(signal.SIGTERM)
            runner.wait(timeout=60)
            if stack.data_dir is not None:
                shutil.rmtree(stack.data_dir, ignore_errors=True)
