"""Listening to ``GET /api/events`` in the background of a test: every event after ``ready``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from stack import Client


class EventLog:
    """The caller's session events, collected while the context is open."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._ready = asyncio.Event()
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> EventLog:
        self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _listen(self) -> None:
        headers = self.client.headers
        async with self.client.http.stream("GET", "/api/events", headers=headers) as response:
            event = None
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event:
                    if event == "ready":
                        self._ready.set()
                    else:
                        self.events.append((event, json.loads(line.split(":", 1)[1])))
                        async with self._changed:
                            self._changed.notify_all()

    def of(self, session_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """The events of one session (of one kind), in order."""
        return [
            data
            for event, data in self.events
            if data.get("session_id") == session_id and kind in (None, event)
        ]

    async def until(self, check: Callable[[EventLog], bool], timeout: float = 20) -> None:
        """Wait until ``check(self)`` holds."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: check(self))
