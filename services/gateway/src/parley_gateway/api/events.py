"""``GET /api/events``: the caller's session changes as server-sent events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter
from sse_starlette import EventSourceResponse

from .auth import CurrentUser
from .deps import Feed

router = APIRouter(prefix="/api", tags=["sessions"])


@router.get(
    "/events",
    operation_id="sessionEvents",
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE"}},
)
async def session_events(user: CurrentUser, feed: Feed) -> EventSourceResponse:
    """SSE of the caller's session changes, from the first ``ready`` event on:
    ``session.created``, ``session.updated`` (counts, name, archive), ``session.named``,
    ``session.tagged``, ``session.deleted``; ``resync`` when events were dropped for a slow
    reader."""

    async def stream() -> AsyncIterator[dict[str, str]]:
        with feed.subscription(user) as queue:
            yield {"event": "ready", "data": "{}"}
            while True:
                kind, data = await queue.get()
                yield {"event": kind, "data": json.dumps(data)}

    return EventSourceResponse(stream(), ping=15)
