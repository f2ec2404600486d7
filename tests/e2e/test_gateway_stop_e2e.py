"""Stopping the gateway answers the requests that wait for a reply (with the message as it
stands: JSON with a null reply, or the SSE ``error`` event) instead of holding its shutdown for
their whole ``?wait=`` and dropping them, and so stops in a bounded time."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
from stack import Client, Stack


async def _stream(client: Client, sid: str) -> list[tuple[str, dict]]:
    """The SSE events of a streamed post, until the stream ends."""
    events: list[tuple[str, dict]] = []
    async with client.http.stream(
        "POST",
        f"/api/sessions/{sid}/messages",
        json={"content": "Anyone streaming?"},
        headers={**client.headers, "Accept": "text/event-stream"},
    ) as response:
        kind = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind:
                events.append((kind, json.loads(line.split(":", 1)[1])))
    return events


async def test_a_request_waiting_for_its_reply_is_answered_when_the_gateway_stops(
    stack: Stack, js
) -> None:
    await stack.stop("chat")  # nobody answers: the request would wait its whole ?wait=
    try:
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http:
            alice = await Client(http, f"alice-{uuid.uuid4().hex[:6]}").login()
            sid = (await alice.create_session())["id"]
            waiting = asyncio.create_task(
                alice.request(
                    "POST",
                    f"/api/sessions/{sid}/messages",
                    params={"wait": 45},
                    json={"content": "Is anyone there?"},
                )
            )
            streaming = asyncio.create_task(_stream(alice, sid))
            await asyncio.sleep(1.0)  # both messages are stored and their replies awaited
            assert not waiting.done() and not streaming.done()
            started = time.monotonic()
            await stack.stop("gateway")
            stop_s = time.monotonic() - started
            answer = await asyncio.wait_for(waiting, 5)
            events = await asyncio.wait_for(streaming, 5)
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["message"]["status"] == "pending" and body["reply"] is None
        assert [kind for kind, _ in events] == ["message", "error"]
        assert events[1][1]["status"] == 504
        assert stop_s < 5, stop_s
    finally:
        if "gateway" not in stack.services:
            await stack.start("gateway")
        await stack.start("chat")
        # Leave the stack as the next test expects it: the two messages answered and every
        # event handed back by the stopped services handled (at most one ack_wait, 60 s).
        await stack.settled(js, timeout=75)
