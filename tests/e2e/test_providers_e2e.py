"""Real providers end to end: the gateway's HTTP API, real NATS and PostgreSQL, the chat service
routing by the session's model to each provider's real client, and the fake upstream answering.

Every test starts from a fake with no recorded requests and no planned failures.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from parley_cli.fake_upstream import FakeUpstream, Recorded, models_toml
from stack import Client, Stack

MODELS = ["fake-gemini", "fake-openai", "fake-compatible", "fake-session"]
STATEFUL = {"fake-gemini": "gemini", "fake-openai": "openai", "fake-session": "session"}
PROVIDERS = {
    "fake-gemini": "gemini",
    "fake-openai": "openai",
    "fake-compatible": "openai-compatible",
    "fake-session": "session-http",
}


@pytest.fixture(scope="module", autouse=True)
async def fake(stack: Stack, tmp_path_factory) -> AsyncIterator[FakeUpstream]:
    """The fake upstream, and the gateway and chat restarted on a catalogue pointing at it."""
    server = await FakeUpstream().start()
    path = tmp_path_factory.mktemp("models") / "models.toml"
    path.write_text(models_toml(server.url, max_concurrency=4, timeout_s=5))
    os.environ["FAKE_API_KEY"] = "fake-key"
    stack.overrides["gateway"] = {"models_file": path}
    stack.overrides["chat"] = {
        "models_file": path,
        "turn_deadline_s": 3.0,
        "retry_base_s": 0.05,
        "order_wait_s": 0.05,
    }
    for name in ("gateway", "chat"):
        await stack.restart(name)
    yield server
    stack.overrides.pop("gateway")
    stack.overrides.pop("chat")
    for name in ("gateway", "chat"):
        await stack.restart(name)
    os.environ.pop("FAKE_API_KEY", None)
    await server.stop()


@pytest.fixture(autouse=True)
def fresh(fake: FakeUpstream) -> None:
    fake.state.reset()
    fake.state.lost.clear()


async def sse_post(client: Client, sid: str, content: str) -> list[tuple[str, dict]]:
    """Post a message asking for SSE; the events up to the reply (or error)."""
    events: list[tuple[str, dict]] = []
    async with client.http.stream(
        "POST",
        f"/api/sessions/{sid}/messages",
        json={"content": content},
        headers={**client.headers, "Accept": "text/event-stream"},
    ) as response:
        assert response.status_code == 200
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event is not None:
                events.append((event, json.loads(line.split(":", 1)[1])))
                if event in ("reply", "error"):
                    break
    return events


async def upstream_row(stack: Stack, sid: str) -> dict[str, Any]:
    conn = await stack.db()
    try:
        row = await conn.fetchrow(
            "SELECT upstream_id, opened_count, provider, model FROM chat.upstream_sessions"
            " WHERE session_id = $1",
            __import__("uuid").UUID(sid),
        )
    finally:
        await conn.close()
    assert row is not None
    return dict(row)


async def traces(client: Client, sid: str, count: int) -> list[dict[str, Any]]:
    for _ in range(200):
        r = await client.request("GET", "/api/traces", params={"session_id": sid})
        if r.status_code == 200 and len(r.json()["items"]) >= count:
            return sorted(r.json()["items"], key=lambda t: t["turn"])
        await asyncio.sleep(0.1)
    raise AssertionError(f"the traces of {sid} never reached {count}")


def calls(fake: FakeUpstream, model: str) -> list[Recorded]:
    api = STATEFUL.get(model, "chat")
    return [r for r in fake.state.requests if r.api == api]


def check_one_session_continued(fake: FakeUpstream, model: str, stored: str) -> None:
    """Exactly one creation, then continuations each carrying the stored id of the session."""
    requests = calls(fake, model)
    if model == "fake-compatible":
        assert [r.action for r in requests] == ["stateless"] * 3
        assert [len(r.body["messages"]) for r in requests] == [2, 4, 6]  # system + transcript
        return
    if model == "fake-openai":
        assert [r.action for r in requests] == ["conversation", "continue", "continue", "continue"]
        assert {r.continued_from for r in requests[1:]} == {requests[0].session} == {stored}
        return
    assert [r.action for r in requests] == ["create", "continue", "continue"]
    assert len({r.session for r in requests}) == 1
    if model == "fake-gemini":  # the chain: each turn continues the head the previous one left
        heads = [r.continued_from for r in requests[1:]]
        assert len(set(heads)) == 2 and stored not in heads
        assert all(r.body["system_instruction"] == "You answer briefly." for r in requests)
    else:
        assert {r.continued_from for r in requests[1:]} == {requests[0].session} == {stored}


@pytest.mark.parametrize("model", MODELS)
async def test_three_messages_in_order_on_one_upstream_session(
    model: str, stack: Stack, alice: Client, fake: FakeUpstream
) -> None:
    sid = (await alice.create_session(model=model, persona="You answer briefly."))["id"]
    replies = []
    for n, text in enumerate(["first question", "second question", "third question"], 1):
        events = await sse_post(alice, sid, text)
        kinds = [k for k, _ in events]
        assert kinds[0] == "message" and kinds[-1] == "reply", kinds
        deltas = [d for k, d in events if k == "delta"]
        assert deltas, "replies stream as deltas"
        reply = events[-1][1]["content"]
        assert "".join(d["text"] for d in deltas) == reply
        assert f"reply {n} " in reply and reply.endswith(f"You said: {text}")
        replies.append(reply)
    row = await upstream_row(stack, sid)
    assert row["provider"] == PROVIDERS[model]
    if model != "fake-compatible":
        assert row["opened_count"] == 1
    check_one_session_continued(fake, model, row["upstream_id"])
    recorded = await traces(alice, sid, 3)
    for trace in recorded:
        assert trace["model"] == model
        assert trace["input_tokens"] > 0 and trace["output_tokens"] > 0
        assert trace["latency_ms"] >= 0 and trace["finish_reason"]
        assert trace["upstream_response_id"]


@pytest.mark.parametrize("model", ["fake-gemini", "fake-openai", "fake-session"])
async def test_a_chat_restart_continues_the_same_upstream_session(
    model: str, stack: Stack, alice: Client, fake: FakeUpstream
) -> None:
    sid = (await alice.create_session(model=model, persona="You answer briefly."))["id"]
    for text in ("one", "two"):
        assert (await alice.post(sid, text))["reply"] is not None
    await stack.restart("chat")
    third = await alice.post(sid, "three")
    assert "reply 3 " in third["reply"]["content"]
    check_one_session_continued(fake, model, (await upstream_row(stack, sid))["upstream_id"])


@pytest.mark.parametrize("model", ["fake-gemini", "fake-openai", "fake-session"])
async def test_a_lost_upstream_session_is_rebuilt_once(
    model: str, stack: Stack, alice: Client, fake: FakeUpstream
) -> None:
    sid = (await alice.create_session(model=model))["id"]
    await alice.post(sid, "Remember the number 42.")
    before = (await upstream_row(stack, sid))["upstream_id"]
    fake.state.lose()
    second = await alice.post(sid, "Which number was it?")
    assert second["reply"] is not None and second["reply"]["content"].endswith(
        "Which number was it?"
    )
    third = await alice.post(sid, "Thanks.")
    assert third["reply"] is not None
    row = await upstream_row(stack, sid)
    assert row["opened_count"] == 2 and row["upstream_id"] != before
    requests = calls(fake, model)
    assert sum(r.status == 404 for r in requests) == 1
    opened = "conversation" if model == "fake-openai" else "create"
    rebuilt = [r for r in requests if r.action == opened]
    assert len(rebuilt) == 2  # the first session, and its one rebuild
    seeded = json.dumps(rebuilt[1].body)
    assert "Remember the number 42." in seeded  # rebuilt from the transcript


@pytest.mark.parametrize("model", MODELS)
async def test_a_429_storm_ends_in_bounded_retries_then_the_session_recovers(
    model: str, stack: Stack, alice: Client, fake: FakeUpstream
) -> None:
    sid = (await alice.create_session(model=model))["id"]
    fake.state.fail(429, count=10_000, retry_after=0.25)
    posted = await alice.post(sid, "are you there?", wait=10)
    assert posted["reply"] is None
    failed = await alice.session(sid, include_messages=True)
    message = failed["messages"][0]
    assert message["status"] == "failed"
    assert "rate-limited" in message["error"]
    tries = len([r for r in fake.state.requests if r.status == 429])
    assert 2 <= tries <= 13  # 3 s deadline / 0.25 s Retry-After, plus the first try
    fake.state.failures.clear()
    after = await alice.post(sid, "and now?")
    assert after["reply"] is not None and after["reply"]["content"].endswith("and now?")


async def test_the_catalogue_at_the_http_edge(alice: Client) -> None:
    listed = await alice.request("GET", "/api/models")
    assert listed.status_code == 200
    names = [m["name"] for m in listed.json()["items"]]
    assert names == ["echo-1", *MODELS]
    assert [m["name"] for m in listed.json()["items"] if m["default"]] == ["echo-1"]
    r = await alice.request("POST", "/api/sessions", json={"model": "gpt-nonexistent"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "not in the catalogue" in r.json()["detail"]
    assert r.json()["errors"][0]["loc"] == ["body", "model"]


async def _all_answered(client: Client, sid: str, count: int, timeout: float = 30) -> list[dict]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        messages = (await client.session(sid, include_messages=True))["messages"]
        users = [m for m in messages if m["role"] == "user"]
        if len(users) == count and all(m["status"] == "answered" for m in users):
            return messages
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not all answered: {[m['status'] for m in users]}")
        await asyncio.sleep(0.1)


async def test_two_chat_processes_never_overlap_calls_for_one_session(
    stack: Stack, alice: Client, fake: FakeUpstream
) -> None:
    second, _ = stack.build("chat")
    await stack.start("chat-2", second)
    fake.state.delay_s = 0.1  # each call takes a while: overlaps would show
    try:
        sids = [(await alice.create_session(model="fake-session"))["id"] for _ in range(4)]

        async def burst(sid: str) -> None:
            for n in range(3):
                await alice.post(sid, f"message {n + 1}", wait=0)

        await asyncio.gather(*(burst(sid) for sid in sids))
        for sid in sids:
            await _all_answered(alice, sid, 3)
    finally:
        await stack.stop("chat-2")
    by_session: dict[str, list[Recorded]] = {}
    for r in fake.state.requests:
        by_session.setdefault(r.session or "", []).append(r)
    assert len(by_session) == 4
    for calls_of_one in by_session.values():
        assert len(calls_of_one) == 3
        spans = sorted((r.started, r.ended or r.started) for r in calls_of_one)
        for (_, ended), (started, _) in zip(spans, spans[1:], strict=False):
            assert started >= ended, "two calls for one session overlapped"


async def test_a_session_held_by_another_process_waits_for_its_lock(
    stack: Stack, alice: Client, fake: FakeUpstream
) -> None:
    import uuid

    from parley_chat.adapters.store import lock_key

    sid = (await alice.create_session(model="fake-openai"))["id"]
    conn = await stack.db()
    try:
        assert await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(uuid.UUID(sid)))
        posted = await alice.post(sid, "held", wait=1.0)
        assert posted["reply"] is None
        assert fake.state.requests == []  # no call while another process holds the session
        await conn.execute("SELECT pg_advisory_unlock($1)", lock_key(uuid.UUID(sid)))
        answered = await _all_answered(alice, sid, 1)
    finally:
        await conn.close()
    assert answered[-1]["content"].endswith("You said: held")
