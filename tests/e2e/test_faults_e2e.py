"""Faults under load: while 100 sessions × 3 messages go through the HTTP API, NATS is killed
(SIGKILL) and restarted, then the chat service, then PostgreSQL. Every accepted message ends
answered exactly once, every session is named and tagged, and the API answers again within 5 s
of each dependency's return. Prints, per fault, the seconds the API did not answer and the
messages accepted, answered, duplicated and lost in its phase."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from faultload import Load, Probe
from faultstack import FaultStack

SESSIONS, TURNS, CONCURRENCY = 100, 3, 16
#: How long each dependency stays down, seconds.
OUTAGE_S = 2.0
#: The longest the API may take to answer again once a dependency is back, seconds.
BACK_WITHIN_S = 5.0


@pytest.fixture
async def faults() -> AsyncIterator[FaultStack]:
    workdir = Path(tempfile.mkdtemp(prefix="parley-faults-"))
    stack = FaultStack(workdir)
    try:
        await stack.start()
        yield stack
    finally:
        stack.stop()
        if not os.environ.get("PARLEY_KEEP_FAULTS"):
            shutil.rmtree(workdir, ignore_errors=True)


async def _wait_named_and_tagged(load: Load, timeout_s: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        page = await load.call("GET", "/api/sessions", params={"limit": 200})
        mine = [s for s in page["items"] if s["id"] in set(load.session_ids)]
        done = [s for s in mine if s["name_source"] == "auto" and s["session_tag"]]
        if len(done) == load.sessions:
            return mine
        if time.monotonic() > deadline:
            missing = [s for s in mine if s not in done]
            raise AssertionError(f"{len(missing)} sessions not named and tagged: {missing[:3]}")
        await asyncio.sleep(0.5)


async def _outcomes(stack: FaultStack, load: Load) -> dict[str, Counter[str]]:
    """Per phase: messages accepted, answered (one reply), duplicated (more than one reply, a
    second copy of the user message, or a second trace of its turn), lost (no reply), and the
    longest time from a message to its reply (``max_reply_ms``)."""
    db = await stack.db()
    try:
        sessions = list(load.session_ids)
        assistant = await db.fetch(
            "SELECT reply_to, created_at FROM gateway.messages WHERE role = 'assistant'"
            " AND session_id = ANY($1::uuid[])",
            sessions,
        )
        replies = Counter(str(r["reply_to"]) for r in assistant)
        replied_at = {str(r["reply_to"]): r["created_at"] for r in assistant}
        users = await db.fetch(
            "SELECT id, status, created_at FROM gateway.messages WHERE role = 'user'"
            " AND session_id = ANY($1::uuid[])",
            sessions,
        )
        traces = Counter(
            (str(r["session_id"]), r["turn"])
            for r in await db.fetch(
                "SELECT session_id, turn FROM tagger.llm_traces WHERE session_id = ANY($1::uuid[])",
                sessions,
            )
        )
    finally:
        await db.close()
    status = {str(r["id"]): r["status"] for r in users}
    asked_at = {str(r["id"]): r["created_at"] for r in users}
    by_phase: dict[str, Counter[str]] = {}
    for message in load.accepted.values():
        counts = by_phase.setdefault(message.phase, Counter())
        counts["accepted"] += 1
        n = replies[message.message_id]
        trace = traces[(message.session_id, message.turn)]
        if n == 0 or status.get(message.message_id) != "answered":
            counts["lost"] += 1
        elif n > 1 or trace > 1:
            counts["duplicated"] += 1
        else:
            counts["answered"] += 1
        if message.message_id in replied_at:
            wait = replied_at[message.message_id] - asked_at[message.message_id]
            ms = int(wait.total_seconds() * 1000)
            counts["max_reply_ms"] = max(counts["max_reply_ms"], ms)
    strays = [mid for mid in status if mid not in load.accepted]  # a retry stored twice
    by_phase.setdefault("baseline", Counter())["duplicated"] += len(strays)
    return by_phase


async def _inject_faults(stack: FaultStack, load: Load, probe: Probe) -> dict[str, Any]:
    """Kill NATS, then chat, then PostgreSQL, each once the load has reached its share, and
    start it again after :data:`OUTAGE_S`; returns per fault when it was killed, how long it
    was down, and how soon after its return the API answered and the gateway was ready."""

    async def nats_back() -> None:
        stack.nats.start()

    async def chat_back() -> None:
        stack.services["chat"].start()
        await stack.services["chat"].ready()

    async def pg_back() -> None:
        stack.pg.start()
        await stack.pg_ready()

    plan: list[tuple[str, float, Callable[[], None], Callable[[], Awaitable[None]]]] = [
        ("nats", 0.15, stack.nats.kill, nats_back),
        ("chat", 0.40, stack.services["chat"].kill, chat_back),
        ("postgres", 0.65, stack.pg.kill, pg_back),
    ]
    windows: dict[str, dict[str, float]] = {}
    for name, share, kill, restart in plan:
        await asyncio.wait_for(load.reached(share), 120)
        load.phase = name
        killed = time.monotonic()
        kill()
        await asyncio.sleep(OUTAGE_S)
        await restart()
        returned = time.monotonic()
        back, ready = await asyncio.gather(probe.back_after(returned), probe.ready_after(returned))
        windows[name] = {
            "killed": killed, "dep_s": returned - killed, "back_s": back, "ready_s": ready
        }  # fmt: skip
    return windows


@pytest.mark.timeout(300)
async def test_no_message_is_lost_or_duplicated_through_nats_chat_and_postgres_crashes(
    faults: FaultStack,
) -> None:
    """Columns printed per phase: ``dep_s`` the dependency's downtime (kill to ready again),
    ``down_s`` how long the API did not answer, ``back_s`` / ``ready_s`` seconds from the
    dependency's return to the API answering / the gateway's ``/readyz`` 200, the messages of
    the phase, and the longest wait for a reply."""
    stack = faults
    async with httpx.AsyncClient(base_url=stack.base_url, limits=httpx.Limits()) as http:
        token = (await http.post("/api/auth/token", json={"user_id": "fault-load"})).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        probe_token = (await http.post("/api/auth/token", json={"user_id": "fault-probe"})).json()
        probe_headers = {"Authorization": f"Bearer {probe_token['access_token']}"}
        probe_sid = (await http.post("/api/sessions", json={}, headers=probe_headers)).json()["id"]

        load = Load(http, headers, SESSIONS, TURNS, CONCURRENCY)
        probe = Probe(http, probe_headers, probe_sid)
        probing = asyncio.create_task(probe.run())
        started = time.monotonic()
        loading = asyncio.create_task(load.run_all())

        try:
            windows = await _inject_faults(stack, load, probe)
            await asyncio.wait_for(loading, 180)
        except Exception as exc:
            probing.cancel()
            diagnosis = await asyncio.wait_for(stack.diagnosis(), 15)
            exc.add_note(f"phase {load.phase}; events: {diagnosis}")
            exc.add_note(f"service logs: {stack.logs()}")
            raise
        finally:
            loading.cancel()
        sessions = await _wait_named_and_tagged(load)
        load_s = time.monotonic() - started
        probing.cancel()
        await asyncio.gather(probing, return_exceptions=True)
        await stack.settled()
        outcomes = await _outcomes(stack, load)

    ends = [w["killed"] for w in windows.values()] + [time.monotonic()]
    print(f"\nfault test: {SESSIONS} sessions × {TURNS} messages, {CONCURRENCY} at once,"
          f" {load_s:.1f} s, {load.retries} client retries")  # fmt: skip
    print(f"{'phase':<10}{'dep_s':>6}{'down_s':>7}{'back_s':>7}{'ready_s':>8}{'accepted':>9}"
          f"{'answered':>9}{'duplicated':>11}{'lost':>5}{'max_reply_s':>12}")  # fmt: skip
    for name, end in zip(["baseline", *windows], ends, strict=True):
        w = windows.get(name, {})
        down = probe.unavailable(w["killed"], end) if w else 0.0
        c = outcomes.get(name, Counter())
        print(f"{name:<10}{w.get('dep_s', 0):>6.2f}{down:>7.2f}{w.get('back_s', 0):>7.2f}"
              f"{w.get('ready_s', 0):>8.2f}"
              f"{c['accepted']:>9}{c['answered']:>9}{c['duplicated']:>11}{c['lost']:>5}"
              f"{c['max_reply_ms'] / 1000:>12.1f}")  # fmt: skip
    print(f"failed attempts: load {dict(load.failures)}, probe {dict(probe.failures)}")

    total = sum(outcomes.values(), Counter())
    assert total["accepted"] == SESSIONS * TURNS, total
    assert (total["answered"], total["duplicated"], total["lost"]) == (SESSIONS * TURNS, 0, 0), (
        outcomes,
        stack.logs(),
    )
    assert {"nats", "chat", "postgres"} <= outcomes.keys(), "a fault came after the load"
    assert len(sessions) == SESSIONS
    for name, window in windows.items():
        assert window["back_s"] <= BACK_WITHIN_S, (name, window)
        assert window["ready_s"] <= BACK_WITHIN_S, (name, window)
    # A dependency down is a 503 problem (or a wait), never a 500.
    assert "500" not in load.failures and "500" not in probe.failures, (load.failures, probe)
