"""What every wire format of the fake upstream shares: recording a request, planned failures
and delays, a provider-shaped error body, and server-sent events."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .state import FakeState, Recorded

_ERROR_STATUS = {404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def error_response(
    api: str, status: int, message: str, retry_after: float | None = None
) -> Response:
    """An error of ``status`` shaped as provider ``api`` shapes it (``gemini``, ``session`` or
    OpenAI's), with ``Retry-After`` (seconds) when given."""
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
    if api == "gemini":
        body: dict[str, Any] = {
            "error": {"code": status, "message": message, "status": _ERROR_STATUS.get(status, "")}
        }
    elif api == "session":
        body = {"detail": message}
    else:
        body = {"error": {"message": message, "type": "fake_error", "code": str(status)}}
    return JSONResponse(body, status_code=status, headers=headers)


def sse(events: list[tuple[str | None, Any]], state: FakeState, record: Recorded) -> Response:
    """Stream ``(event name, data)`` pairs as server-sent events; ``ended`` marks the last byte."""

    async def body() -> AsyncIterator[bytes]:
        for i, (name, data) in enumerate(events):
            if i and state.delta_delay_s:
                await asyncio.sleep(state.delta_delay_s)
            payload = data if isinstance(data, str) else json.dumps(data)
            if i == len(events) - 1:
                record.ended = time.time()
            yield (f"event: {name}\n" if name else "").encode() + f"data: {payload}\n\n".encode()

    return StreamingResponse(body(), media_type="text/event-stream")


class Exchange:
    """Routes of one wire format over the fake's shared :class:`FakeState`."""

    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def begin(
        self, request: Request, api: str, action: str
    ) -> tuple[Recorded, Response | None]:
        """Record the request as ``api``/``action``, wait the planned delay, and answer a
        planned failure (the response), or None to go on."""
        body = await request.json() if await request.body() else {}
        record = Recorded(api=api, action=action, path=request.url.path, body=body)
        self.state.requests.append(record)
        if self.state.delay_s:
            await asyncio.sleep(self.state.delay_s)
        failure = self.state.planned_failure(api)
        if failure is not None:
            record.status, record.ended = failure.status, time.time()
            return record, error_response(
                api, failure.status, "planned failure", failure.retry_after
            )
        return record, None

    def lost(self, record: Recorded, api: str, upstream_id: str) -> Response:
        """The provider's 404 for an upstream session it does not know."""
        record.status, record.ended = 404, time.time()
        return error_response(api, 404, f"{upstream_id} not found")
