"""Watching a user's sessions get named and tagged, through the gateway's ``GET /api/events``.

The stream says at once when a session is named or tagged. Should it miss something (the gateway
sends ``resync``, or the stream ends), a session still waited for is read again over HTTP once a
second, so a wait never outlasts what actually happened by more than that.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import httpx

#: Seconds between re-reads of a session once the event stream may have missed something.
REREAD_S = 1.0


@dataclass
class Seen:
    """When (``time.monotonic()``) this client saw a session named and tagged, and with what."""

    name: str | None = None
    named_at: float | None = None
    tag: str | None = None
    tagged_at: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def named(self, name: str, at: float) -> None:
        """Note that the session got its name at ``at`` (``time.monotonic()`` seconds)."""
        if self.named_at is None:
            self.name, self.named_at = name, at
            self._check()

    def tagged(self, tag: str, at: float) -> None:
        """Note that the session got its tag at ``at`` (``time.monotonic()`` seconds)."""
        if self.tagged_at is None:
            self.tag, self.tagged_at = tag, at
            self._check()

    def _check(self) -> None:
        if self.named_at is not None and self.tagged_at is not None:
            self.done.set()


class SessionWatch:
    """One SSE stream of the user's session events, shared by every session of a run."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self._http = http
        self._headers = headers
        self._seen: dict[str, Seen] = {}
        self._ready = asyncio.Event()
        self._unreliable = False  # set on resync or when the stream ends
        self._task: asyncio.Task[None] | None = None

    def _of(self, session_id: str) -> Seen:
        return self._seen.setdefault(session_id, Seen())

    async def start(self) -> None:
        """Open the stream and wait until the gateway says it is listening.

        Raises:
            TimeoutError: the stream did not open within 30 s.
            httpx.HTTPError: the gateway refused it.
        """
        self._task = asyncio.create_task(self._listen())
        ready = asyncio.create_task(self._ready.wait())
        await asyncio.wait({ready, self._task}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if not self._ready.is_set():
            ready.cancel()
            if self._task.done():
                self._task.result()
            raise TimeoutError("the event stream did not open within 30 s")

    async def stop(self) -> None:
        """Close the stream."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _listen(self) -> None:
        try:
            async with self._http.stream(
                "GET", "/api/events", headers=self._headers, timeout=None
            ) as response:
                response.raise_for_status()
                kind = None
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        kind = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and kind is not None:
                        self._on_event(kind, json.loads(line.split(":", 1)[1]))
        finally:
            self._unreliable = True

    def _on_event(self, kind: str, data: dict) -> None:
        now = time.monotonic()
        if kind == "ready":
            self._ready.set()
        elif kind == "resync":
            self._unreliable = True
        elif kind == "session.named":
            self._of(data["session_id"]).named(data["name"], now)
        elif kind == "session.tagged":
            self._of(data["session_id"]).tagged(data["session_tag"], now)

    async def _reread(self, session_id: str, seen: Seen) -> None:
        r = await self._http.get(f"/api/sessions/{session_id}", headers=self._headers)
        if r.status_code != 200:
            return
        session, now = r.json(), time.monotonic()
        if session["name_source"] == "auto":
            seen.named(session["name"], now)
        if session["session_tag"]:
            seen.tagged(session["session_tag"], now)

    async def named_and_tagged(self, session_id: str, timeout_s: float) -> Seen:
        """Wait until the session was seen both named and tagged.

        Raises:
            TimeoutError: not within ``timeout_s`` seconds.
        """
        seen = self._of(session_id)
        deadline = time.monotonic() + timeout_s
        while not seen.done.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"not named and tagged within {timeout_s:.0f} s")
            try:
                await asyncio.wait_for(seen.done.wait(), min(remaining, REREAD_S))
            except TimeoutError:
                if self._unreliable:
                    await self._reread(session_id, seen)
        return seen
