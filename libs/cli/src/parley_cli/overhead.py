"""``parley overhead``: what the pipeline adds to each reply, per provider.

Starts the fake upstream (zero latency) in a thread, then the whole stack (``parley run`` on a
temporary data folder, a catalogue pointing every real provider at the fake), and drives the
gateway over HTTP with SSE: for each model, ``sessions`` sessions of ``messages`` messages,
``concurrency`` sessions at once. For every reply it takes the time from the fake's last byte of
the answer (recorded by the fake) to the ``reply`` SSE event reaching the client (the reply is
stored and visible at the gateway), and reports p50/p95/p99/max in milliseconds.
Both clocks are this machine's ``time.time()``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from .bench import _start_stack, percentile
from .fake_upstream import FakeState, Recorded, build_app, models_toml

MODELS = ["fake-gemini", "fake-openai", "fake-compatible", "fake-session"]


def _message_of(record: Recorded) -> str | None:
    """The user message a recorded upstream request carried."""
    body = record.body
    if record.api == "session":
        return body.get("message")
    if record.api == "chat":
        return (body.get("messages") or [{}])[-1].get("content")
    given = body.get("input")
    if isinstance(given, list):
        return given[-1]["content"][0]["text"]
    return given


async def _one_session(
    http: httpx.AsyncClient, headers: dict[str, str], model: str, messages: int
) -> list[tuple[str, float]]:
    """Create a session on ``model`` and post ``messages`` messages over SSE; each message's
    content and the ``time.time()`` its reply event arrived."""
    r = await http.post("/api/sessions", headers=headers, json={"model": model})
    r.raise_for_status()
    sid = r.json()["id"]
    seen: list[tuple[str, float]] = []
    for _ in range(messages):
        content = f"overhead probe {uuid.uuid4().hex}"
        async with http.stream(
            "POST",
            f"/api/sessions/{sid}/messages",
            json={"content": content},
            headers={**headers, "Accept": "text/event-stream"},
        ) as response:
            event = None
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("reply", "error"):
                    if event == "reply":
                        seen.append((content, time.time()))
                    break
    return seen


async def measure(
    base_url: str, state: FakeState, *, sessions: int, messages: int, concurrency: int
) -> dict[str, Any]:
    """Drive every model of :data:`MODELS`; the overhead summary per model (milliseconds)."""
    report: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        r = await http.post("/api/auth/token", json={"user_id": "overhead"})
        r.raise_for_status()
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        for model in MODELS:
            await _one_session(http, headers, model, 1)  # warm-up: clients, pools, plans
            state.reset()
            gate = asyncio.Semaphore(concurrency)

            async def bounded(
                model: str = model, gate: asyncio.Semaphore = gate
            ) -> list[tuple[str, float]]:
                async with gate:
                    return await _one_session(http, headers, model, messages)

            arrivals = [
                a
                for one in await asyncio.gather(*(bounded() for _ in range(sessions)))
                for a in one
            ]
            ended = {
                _message_of(rec): rec.ended
                for rec in state.requests
                if rec.status == 200 and rec.ended is not None
            }
            overhead = [(at - ended[c]) * 1000 for c, at in arrivals if ended.get(c) is not None]
            report[model] = {
                "replies": len(overhead),
                "expected": sessions * messages,
                **{f"p{int(q * 100)}": percentile(overhead, q) for q in (0.5, 0.95, 0.99)},
                "max": max(overhead, default=float("nan")),
            }
    return report


def render(report: dict[str, Any]) -> str:
    """The report as a table."""
    lines = [
        "chat overhead per reply: upstream last byte -> reply at the gateway (ms)",
        f"{'model':<18}{'replies':>9}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}",
    ]
    for model, s in report.items():
        lines.append(
            f"{model:<18}{s['replies']:>9}{s['p50']:>9.1f}{s['p95']:>9.1f}"
            f"{s['p99']:>9.1f}{s['max']:>9.1f}"
        )
    return "\n".join(lines)


def run_overhead(*, sessions: int, messages: int, concurrency: int, as_json: bool = False) -> int:
    """Start the fake and the stack, measure, print; 1 if a reply went missing or it failed."""
    state = FakeState()
    server = uvicorn.Server(
        uvicorn.Config(build_app(state), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    folder = Path(tempfile.mkdtemp(prefix="parley-overhead-"))
    (folder / "models.toml").write_text(models_toml(url, max_concurrency=64))
    os.environ["PARLEY_MODELS_FILE"] = str(folder / "models.toml")
    os.environ["FAKE_API_KEY"] = "fake-key"
    runner = None
    try:
        started = _start_stack(1)
        if started is None:
            print("the stack did not become ready")
            return 1
        stack, runner = started
        report = asyncio.run(
            measure(
                stack.base_url, state, sessions=sessions, messages=messages, concurrency=concurrency
            )
        )
        print(json.dumps(report, indent=2) if as_json else render(report))
        return 0 if all(s["replies"] == s["expected"] for s in report.values()) else 1
    finally:
        if runner is not None:
            runner.send_signal(signal.SIGTERM)
            runner.wait(timeout=60)
            if stack.data_dir is not None:
                shutil.rmtree(stack.data_dir, ignore_errors=True)
        server.should_exit = True
        thread.join(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
