"""Watching a user's sessions get named and tagged, through the gateway's ``GET /api/events``."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import httpx


@dataclass
class Seen:
    """When (``time.monotonic()``) this client saw a session named and tagged, and with what."""

    name: str | None = None
    named_at: float | None = None
    tag: str | None = None
    tagged_at: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class SessionWatch:
    """One SSE stream of the user's session events, shared by every session of a run."""

    def __init__(self) -> None:
        self._seen: dict[str, Seen] = {}
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _of(self, session_id: str) -> Seen:
        return self._seen.setdefault(session_id, Seen())

    async def start(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        """Open the stream and wait until the gateway says it is listening."""
        self._task = asyncio.create_task(self._listen(http, headers))
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

    async def _listen(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        async with http.stream("GET", "/api/events", headers=headers, timeout=None) as response:
            response.raise_for_status()
            kind = None
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    kind = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and kind is not None:
                    self._on_event(kind, json.loads(line.split(":", 1)[1]))

    def _on_event(self, kind: str, data: dict) -> None:
        now = time.monotonic()
        if kind == "ready":
            self._ready.set()
            return
        if kind not in ("session.named", "session.tagged"):
            return
        seen = self._of(data["session_id"])
        if kind == "session.named":
            seen.name, seen.named_at = data["name"], now
        else:
            seen.tag, seen.tagged_at = data["session_tag"], now
        if seen.named_at is not None and seen.tagged_at is not None:
            seen.done.set()

    async def named_and_tagged(self, session_id: str, timeout_s: float) -> Seen:
        """Wait until the session was seen both named and tagged.

        Raises:
            TimeoutError: not within ``timeout_s`` seconds.
        """
        seen = self._of(session_id)
        try:
            await asyncio.wait_for(seen.done.wait(), timeout_s)
        except TimeoutError:
            raise TimeoutError(f"not named and tagged within {timeout_s:.0f} s") from None
        return seen
