"""Idle expiry end to end: a session created with a short ``idle_ttl_s`` is deleted by the
gateway's maintenance pass once idle past it, exactly like ``DELETE``: gone from the API,
announced on ``GET /api/events``, and erased by every service."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from stack import Client, Stack

TTL_S = 5
#: The tables, one per service schema, that hold a session's data once it is named and tagged.
SESSION_TABLES = (
    "gateway.messages",
    "chat.upstream_sessions",
    "chat.transcript",
    "namer.exchanges",
    "namer.naming_state",
    "tagger.llm_traces",
    "tagger.session_tags",
)


@pytest.fixture
async def fast_gateway(stack: Stack) -> AsyncIterator[Stack]:
    """The stack with a gateway whose maintenance pass runs every 0.2 s (restored after)."""
    saved = stack.overrides.get("gateway")
    stack.overrides["gateway"] = {**(saved or {}), "maintenance_s": 0.2}
    await stack.restart("gateway")
    try:
        yield stack
    finally:
        if saved is None:
            stack.overrides.pop("gateway")
        else:
            stack.overrides["gateway"] = saved
        await stack.restart("gateway")


async def _deletions(client: Client, ready: asyncio.Event, found: list[str]) -> None:
    async with client.http.stream("GET", "/api/events", headers=client.headers) as response:
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "ready":
                ready.set()
            elif line.startswith("data:") and event == "session.deleted":
                found.append(json.loads(line.split(":", 1)[1])["session_id"])
                return


async def _rows(stack: Stack, session_id: str) -> dict[str, int]:
    db = await stack.db()
    try:
        return {
            table: await db.fetchval(
                f"SELECT count(*) FROM {table} WHERE session_id = $1", uuid.UUID(session_id)
            )
            for table in SESSION_TABLES
        }
    finally:
        await db.close()


async def test_an_idle_session_expires_everywhere_and_is_announced(
    fast_gateway: Stack, js: Any
) -> None:
    stack = fast_gateway
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
        alice = await Client(http, f"alice-{uuid.uuid4().hex[:6]}").login()
        ready, deleted = asyncio.Event(), []
        listener = asyncio.create_task(_deletions(alice, ready, deleted))
        await asyncio.wait_for(ready.wait(), 10)

        short = await alice.create_session(idle_ttl_s=TTL_S)
        kept = await alice.create_session()
        assert short["idle_ttl_s"] == TTL_S and kept["idle_ttl_s"] is None
        sid = short["id"]
        posted = await alice.post(sid, "Which rivers flow through Vienna and Budapest?")
        assert posted["reply"] is not None
        await alice.wait_for(sid, lambda s: s["name_source"] == "auto" and s["session_tag"])
        await stack.settled(js)
        assert all((await _rows(stack, sid)).values()), "every service holds the session"
        alive = await alice.session(sid)
        assert alive["expires_at"] is not None and alive["last_message_at"] is not None

        # Idle past its time to live: the maintenance pass deletes it as DELETE would.
        await asyncio.wait_for(listener, TTL_S + 10)
        assert deleted == [sid]
        assert (await alice.request("GET", f"/api/sessions/{sid}")).status_code == 404
        listed = (await alice.request("GET", "/api/sessions")).json()["items"]
        assert [s["id"] for s in listed] == [kept["id"]]
        await stack.settled(js)
        assert await _rows(stack, sid) == dict.fromkeys(SESSION_TABLES, 0)


async def test_an_idle_ttl_is_validated_and_documented(alice: Client) -> None:
    for bad in (0, -1, 366 * 24 * 3600 + 1, "60", 1.5):
        r = await alice.request("POST", "/api/sessions", json={"idle_ttl_s": bad})
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert any("idle_ttl_s" in e["loc"] for e in r.json()["errors"])
    schema = (await alice.http.get("/openapi.json")).json()["components"]["schemas"]
    ttl = schema["SessionCreate"]["properties"]["idle_ttl_s"]
    [integer] = [option for option in ttl["anyOf"] if option.get("type") == "integer"]
    assert (integer["minimum"], integer["maximum"]) == (1, 366 * 24 * 3600)
    assert "PARLEY_DEFAULT_IDLE_TTL_S" in ttl["description"]
    assert "expires_at" in schema["SessionOut"]["properties"]


async def test_a_patch_changes_or_removes_the_time_to_live(alice: Client) -> None:
    sid = (await alice.create_session(idle_ttl_s=60))["id"]
    longer = await alice.request("PATCH", f"/api/sessions/{sid}", json={"idle_ttl_s": 3600})
    assert longer.status_code == 200 and longer.json()["idle_ttl_s"] == 3600
    never = await alice.request("PATCH", f"/api/sessions/{sid}", json={"idle_ttl_s": None})
    assert never.status_code == 200
    assert (never.json()["idle_ttl_s"], never.json()["expires_at"]) == (None, None)
    bad = await alice.request("PATCH", f"/api/sessions/{sid}", json={"idle_ttl_s": 0})
    assert bad.status_code == 422
