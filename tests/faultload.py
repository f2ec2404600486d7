"""Client side of the fault test: a bounded load of sessions through the HTTP API that retries
what fails (with the same ``Idempotency-Key``, so a retry never makes a second message), and a
probe that samples whether the API answers."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

TOPICS = (
    "the history of the Danube river and its bridges",
    "baking sourdough bread with a stiff starter",
    "the orbital mechanics of geostationary satellites",
    "planting tomatoes on a windy balcony garden",
    "the rules of competitive chess clocks",
    "restoring an old oak dining table",
    "the migration of arctic terns across oceans",
    "learning Portuguese verbs for travellers",
)


@dataclass
class Accepted:
    """A user message the API accepted: its id, session, turn, and the phase it came in."""

    message_id: str
    session_id: str
    turn: int
    phase: str


@dataclass
class Load:
    """``sessions`` sessions of ``turns`` messages each, ``concurrency`` sessions at a time; each
    message waits for its reply before the next one of its session is posted."""

    http: httpx.AsyncClient
    headers: dict[str, str]
    sessions: int
    turns: int
    concurrency: int
    phase: str = "baseline"
    accepted: dict[str, Accepted] = field(default_factory=dict)
    session_ids: list[str] = field(default_factory=list)
    retries: int = 0
    #: The status of every failed attempt (``"no answer"`` for a transport error or timeout).
    failures: Counter[str] = field(default_factory=Counter)
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _progress: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def total(self) -> int:
        """How many messages the load posts."""
        return self.sessions * self.turns

    async def run_all(self) -> None:
        """Run every session; returns once each message was accepted and settled."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(n: int) -> None:
            async with gate:
                await self._session(n)

        await asyncio.gather(*(one(n) for n in range(self.sessions)))

    async def reached(self, share: float) -> None:
        """Wait until ``share`` of the messages have been accepted."""
        while len(self.accepted) < share * self.total:
            self._progress.clear()
            await self._progress.wait()

    async def _session(self, n: int) -> None:
        created = await self.call("POST", "/api/sessions", key=f"s-{self.run}-{n}", json={})
        sid = created["id"]
        self.session_ids.append(sid)
        topic = TOPICS[n % len(TOPICS)]
        for turn in range(1, self.turns + 1):
            posted = await self.call(
                "POST",
                f"/api/sessions/{sid}/messages",
                key=f"m-{self.run}-{n}-{turn}",
                params={"wait": 5},
                json={"content": f"Part {turn}: tell me more about {topic}, please."},
            )
            message = posted["message"]
            self.accepted.setdefault(message["id"], Accepted(message["id"], sid, turn, self.phase))
            self._progress.set()
            if posted["reply"] is None and message["status"] == "pending":
                await self._settled(sid, message["id"])

    async def _settled(self, sid: str, message_id: str, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            page = await self.call("GET", f"/api/sessions/{sid}/messages", params={"limit": 10})
            [mine] = [m for m in page["items"] if m["id"] == message_id]
            if mine["status"] != "pending":
                return
            await asyncio.sleep(0.3)
        raise AssertionError(f"message {message_id} still pending after {timeout_s} s")

    async def call(
        self, method: str, url: str, *, key: str | None = None, timeout_s: float = 90, **kw: Any
    ) -> Any:
        """The JSON answer of a request that succeeded, retried every 0.2 s while it fails with
        a 5xx or no answer; a 4xx is a test failure."""
        headers = {**self.headers, **({"Idempotency-Key": key} if key else {})}
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                r = await self.http.request(method, url, headers=headers, timeout=15, **kw)
                if r.status_code < 300:
                    return r.json()
                assert r.status_code >= 500, f"{method} {url}: {r.status_code} {r.text}"
                self.failures[str(r.status_code)] += 1
            except httpx.HTTPError:
                self.failures["no answer"] += 1
            self.retries += 1
            assert time.monotonic() < deadline, f"{method} {url} failed for {timeout_s} s"
            await asyncio.sleep(0.2)


@dataclass
class Probe:
    """Every ``interval_s``: list the caller's sessions and write to one (a metadata PATCH);
    the API answers if both succeed within ``timeout_s``. Samples are ``(start, end, ok)``
    on the monotonic clock."""

    http: httpx.AsyncClient
    headers: dict[str, str]
    session_id: str
    interval_s: float = 0.1
    timeout_s: float = 2.0
    samples: list[tuple[float, float, bool]] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)

    async def run(self) -> None:
        """Sample until cancelled."""
        n = 0
        while True:
            n += 1
            start = time.monotonic()
            try:
                listed = await self.http.get(
                    "/api/sessions", params={"limit": 1}, headers=self.headers,
                    timeout=self.timeout_s,
                )  # fmt: skip
                patched = await self.http.patch(
                    f"/api/sessions/{self.session_id}", json={"metadata": {"probe": n}},
                    headers=self.headers, timeout=self.timeout_s,
                )  # fmt: skip
                ok = listed.status_code == 200 and patched.status_code == 200
                for r in (listed, patched):
                    if r.status_code != 200:
                        self.failures[str(r.status_code)] += 1
            except httpx.HTTPError:
                ok = False
                self.failures["no answer"] += 1
            self.samples.append((start, time.monotonic(), ok))
            await asyncio.sleep(self.interval_s)

    async def back_after(self, since: float, timeout_s: float = 30) -> float:
        """Seconds from ``since`` to the end of the first successful sample started after it."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for start, end, ok in self.samples:
                if ok and start >= since:
                    return end - since
            await asyncio.sleep(0.05)
        raise AssertionError(f"the API did not answer within {timeout_s} s")

    async def ready_after(self, since: float, timeout_s: float = 30) -> float:
        """Seconds from ``since`` until the gateway's ``/readyz`` answers 200."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if (await self.http.get("/readyz", timeout=self.timeout_s)).status_code == 200:
                    return time.monotonic() - since
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
        raise AssertionError(f"the gateway was not ready within {timeout_s} s")

    def unavailable(self, start: float, end: float) -> float:
        """Seconds between ``start`` and ``end`` during which the API did not answer: from the
        first failed sample to the end of the next successful one, summed over outages."""
        down, since = 0.0, None
        for s, e, ok in self.samples:
            if s < start or s > end:
                continue
            if not ok and since is None:
                since = s
            elif ok and since is not None:
                down, since = down + (e - since), None
        return round(down + (end - since if since is not None else 0.0), 2)
