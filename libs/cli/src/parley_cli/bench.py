"""``parley bench``: the pipeline benchmark.

Starts the whole stack (``parley run`` with a temporary data folder, embedded servers, the echo
upstream) unless ``--base-url`` names a running gateway, then drives it over HTTP: ``sessions``
sessions at ``concurrency`` at once, each posting ``messages`` user messages (each waiting for its
reply). Reports, in milliseconds: reply latency (POST to stored reply, p50/p95/p99), time from a
session's first reply until the client sees its automatic name, from its creation until it sees
its tag (both through ``GET /api/events``), and throughput in replies per second. Numbers
depend on the machine; compare runs on the same one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from parley_runtime.embedded import free_port

from .watch import SessionWatch

QUESTIONS = [
    "How do I merge two sorted lists in Python without using sort?",
    "What is the difference between a process and a thread on Linux?",
    "Write a SQL query that finds the second highest salary per department.",
    "Explain how TCP congestion control reacts to packet loss.",
]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _one_session(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    watch: SessionWatch,
    n: int,
    messages: int,
    results: dict[str, list[float]],
) -> None:
    created_at = time.monotonic()
    r = await http.post("/api/sessions", headers=headers, json={})
    r.raise_for_status()
    sid = r.json()["id"]
    first_reply_at = 0.0
    for m in range(messages):
        started = time.monotonic()
        content = f"{QUESTIONS[(n + m) % len(QUESTIONS)]} (#{n}.{m})"
        r = await http.post(
            f"/api/sessions/{sid}/messages",
            headers=headers,
            params={"wait": 30},
            json={"content": content},
        )
        r.raise_for_status()
        if r.json()["reply"] is None:
            raise TimeoutError("no reply within 30 s")
        now = time.monotonic()
        results["reply"].append((now - started) * 1000)
        first_reply_at = first_reply_at or now
    seen = await watch.named_and_tagged(sid, 30)
    assert seen.named_at is not None and seen.tagged_at is not None
    results["name"].append(max(0.0, seen.named_at - first_reply_at) * 1000)
    results["tag"].append(max(0.0, seen.tagged_at - created_at) * 1000)


async def drive(base_url: str, *, sessions: int, messages: int, concurrency: int) -> str:
    """Run the load against ``base_url`` and return the report."""
    results: dict[str, list[float]] = {"reply": [], "name": [], "tag": []}
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        r = await http.post("/api/auth/token", json={"user_id": f"bench-{os.getpid()}"})
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        watch = SessionWatch(http, headers)
        await watch.start()

        async def bounded(n: int) -> None:
            async with gate:
                await _one_session(http, headers, watch, n, messages, results)

        started = time.monotonic()
        try:
            await asyncio.gather(*(bounded(n) for n in range(sessions)))
        finally:
            await watch.stop()
        wall = time.monotonic() - started
    latencies, to_name, to_tag = results["reply"], results["name"], results["tag"]
    return "\n".join(
        [
            f"sessions={sessions} messages/session={messages} concurrency={concurrency}"
            f" replies={len(latencies)} wall={wall:.1f}s throughput={len(latencies) / wall:.1f} replies/s",
            f"reply latency ms: p50={_percentile(latencies, 0.5):.1f} p95={_percentile(latencies, 0.95):.1f}"
            f" p99={_percentile(latencies, 0.99):.1f} mean={statistics.fmean(latencies):.1f}",
            f"first reply -> name seen ms: p50={_percentile(to_name, 0.5):.0f}"
            f" p95={_percentile(to_name, 0.95):.0f}",
            f"session created -> tag seen ms: p50={_percentile(to_tag, 0.5):.0f}"
            f" p95={_percentile(to_tag, 0.95):.0f}",
        ]
    )


def run_bench(*, base_url: str | None, sessions: int, messages: int, concurrency: int) -> int:
    """Start the stack if needed, run :func:`drive`, print the report; returns the exit code."""
    runner = None
    if base_url is None:
        port = free_port()
        data = Path(tempfile.mkdtemp(prefix="parley-bench-"))
        env = {k: v for k, v in os.environ.items() if k != "PARLEY_UPSTREAM"}
        env["PARLEY_LOG_LEVEL"] = "WARNING"
        runner = subprocess.Popen(
            [sys.executable, "-m", "parley_cli.main", "run", "--data-dir", str(data)]
            + ["--port", str(port), "--free-ports"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        base_url = f"http://127.0.0.1:{port}"
        # The runner prints its usage once all four services answer /readyz; it exits (and the
        # pipe ends) if they do not within its own time limit.
        assert runner.stdout is not None
        for line in runner.stdout:
            if line.startswith("Parley is running"):
                break
        else:
            print("the stack did not become ready", file=sys.stderr)
            return 1
        threading.Thread(target=runner.stdout.read, daemon=True).start()
    try:
        report = asyncio.run(
            drive(base_url, sessions=sessions, messages=messages, concurrency=concurrency)
        )
        print(report)
        return 0
    finally:
        if runner is not None:
            runner.send_signal(signal.SIGTERM)
            runner.wait(timeout=60)
