"""The offered load of ``parley bench``: closed (a fixed number of sessions at once) or open (a
fixed arrival rate of messages, whatever the replies do).

Closed load is what a pool of users does: each of ``concurrency`` sessions posts its next message
when the previous reply arrived. Open load is what a large population does: messages arrive at
``rate`` per second whatever the replies do, so a slow reply does not slow the arrivals (the
coordinated-omission trap of closed load; see Gil Tene, "How NOT to Measure Latency", 2015).

Open load is a steady mix of new and ongoing sessions, as a population's traffic is: with ``M``
messages per session, a new session starts every ``M / rate`` seconds (session ``s`` at
``start + M * s / rate``) and its message ``m`` is posted ``m * gap`` seconds after it starts,
where ``gap = (M * k + 1) / rate`` is about :data:`THINK_S` (``k`` a whole number). Each of the
``sessions * M`` messages then has a time slot ``1 / rate`` seconds wide of its own, so past the
first and before the last ``(M - 1) * gap`` seconds the messages arrive at exactly ``rate`` per
second, a third of them first messages when ``M`` is 3.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from .watch import SessionWatch

QUESTIONS = [
    "How do I merge two sorted lists in Python without using sort?",
    "What is the difference between a process and a thread on Linux?",
    "Write a SQL query that finds the second highest salary per department.",
    "Explain how TCP congestion control reacts to packet loss.",
]

#: Seconds a message waits for its reply (``wait`` of ``POST …/messages``), and a name or tag.
REPLY_WAIT_S = 30
#: Open load: about how many seconds apart one session's messages are posted.
THINK_S = 1.0


def open_gap_s(rate: float, messages: int, think_s: float = THINK_S) -> float:
    """Seconds between two messages of one session in open load at ``rate`` messages per second
    with ``messages`` per session: the ``(messages * k + 1) / rate`` nearest ``think_s`` (``k`` a
    whole number of at least 1), so no two messages of the run share a ``1 / rate`` time slot."""
    k = max(1, round(think_s * rate / messages))
    return (messages * k + 1) / rate


@dataclass
class Samples:
    """What a load run saw, in milliseconds: reply latencies, first reply → name seen, session
    created → tag seen; and the failures (no reply in time, or an HTTP error)."""

    reply: list[float] = field(default_factory=list)
    name: list[float] = field(default_factory=list)
    tag: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


@dataclass
class Load:
    """One run's shape: ``sessions`` sessions of ``messages`` messages; closed with
    ``concurrency`` sessions at once, or open at ``rate`` messages per second when set."""

    sessions: int
    messages: int
    concurrency: int = 16
    rate: float | None = None


class Driver:
    """Drives a gateway as one user with the load of :class:`Load`."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str], watch: SessionWatch):
        self._http = http
        self._headers = headers
        self._watch = watch

    async def run(self, load: Load, samples: Samples, *, label: str) -> None:
        """Run ``load`` to its end, adding what it saw to ``samples``."""
        if load.rate is None:
            gate = asyncio.Semaphore(load.concurrency)

            async def closed(n: int) -> None:
                async with gate:
                    await self._session(n, load.messages, samples, label, spacing_s=None)

            await asyncio.gather(*(closed(n) for n in range(load.sessions)))
            return
        start = time.monotonic()
        gap = open_gap_s(load.rate, load.messages)

        async def open_(n: int) -> None:
            await asyncio.sleep(max(0.0, start + n * load.messages / load.rate - time.monotonic()))
            await self._session(n, load.messages, samples, label, spacing_s=gap)

        await asyncio.gather(*(open_(n) for n in range(load.sessions)))

    async def _session(
        self, n: int, messages: int, samples: Samples, label: str, spacing_s: float | None
    ) -> None:
        created_at = time.monotonic()
        r = await self._http.post("/api/sessions", headers=self._headers, json={})
        r.raise_for_status()
        sid = r.json()["id"]
        if spacing_s is None:
            stamps = [await self._message(sid, n, m, samples, label) for m in range(messages)]
        else:  # open load: each message at its own time, not after the previous reply
            stamps = await asyncio.gather(
                *(
                    self._message(sid, n, m, samples, label, at=created_at + m * spacing_s)
                    for m in range(messages)
                )
            )
        answered = [s for s in stamps if s is not None]
        if not answered:
            return
        seen = await self._watch.named_and_tagged(sid, REPLY_WAIT_S)
        if seen.named_at is None or seen.tagged_at is None:
            samples.failures.append(f"{sid}: not named and tagged within {REPLY_WAIT_S} s")
            return
        samples.name.append(max(0.0, seen.named_at - min(answered)) * 1000)
        samples.tag.append(max(0.0, seen.tagged_at - created_at) * 1000)

    async def _message(
        self, sid: str, n: int, m: int, samples: Samples, label: str, at: float | None = None
    ) -> float | None:
        """Post message ``m`` (at monotonic time ``at`` when given) and wait for its reply; the
        time it arrived, or None when it failed."""
        if at is not None:
            await asyncio.sleep(max(0.0, at - time.monotonic()))
        started = time.monotonic()
        content = f"{QUESTIONS[(n + m) % len(QUESTIONS)]} ({label} #{n}.{m})"
        try:
            r = await self._http.post(
                f"/api/sessions/{sid}/messages",
                headers=self._headers,
                params={"wait": REPLY_WAIT_S},
                json={"content": content},
            )
            r.raise_for_status()
        except httpx.HTTPError as exc:
            samples.failures.append(f"{sid}#{m}: {type(exc).__name__}: {exc}")
            return None
        if r.json()["reply"] is None:
            samples.failures.append(f"{sid}#{m}: no reply within {REPLY_WAIT_S} s")
            return None
        now = time.monotonic()
        samples.reply.append((now - started) * 1000)
        return now
