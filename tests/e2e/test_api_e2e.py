"""The HTTP API as a client sees it: SSE replies, names the user chose, tags, pages, idempotent
retries, deletion (auth, bad input and health: ``test_api_problems_e2e.py``; the event stream
and traces: ``test_api_events_e2e.py``)."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import httpx
from parley_contracts import ReplyCompleted, SessionNamed, Subjects
from stack import Client, Stack

PROBLEM = "application/problem+json"


async def _sse_events(
    client: Client, sid: str, content: str, headers: dict[str, str] | None = None
) -> list[tuple[str, dict]]:
    events: list[tuple[str, dict]] = []
    async with client.http.stream(
        "POST",
        f"/api/sessions/{sid}/messages",
        json={"content": content},
        headers={**client.headers, "Accept": "text/event-stream", **(headers or {})},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event is not None:
                events.append((event, json.loads(line.split(":", 1)[1])))
                if event in ("reply", "error"):
                    break
    return events


async def test_sse_streams_the_message_its_deltas_and_the_reply(alice: Client) -> None:
    sid = (await alice.create_session())["id"]
    content = "Explain the difference between TCP and UDP for a game server, in detail please."
    events = await _sse_events(alice, sid, content)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "message" and kinds[-1] == "reply"
    assert kinds.count("delta") >= 2
    assert events[0][1]["content"] == content
    reply = events[-1][1]
    assert reply["role"] == "assistant" and reply["reply_to"] == events[0][1]["id"]
    assert "".join(d["text"] for kind, d in events if kind == "delta") == reply["content"]
    stored = await alice.session(sid, include_messages=True)
    assert stored["message_count"] == 2
    assert stored["messages"][1]["content"] == reply["content"]


async def test_a_name_the_user_chose_is_never_overwritten(stack: Stack, alice: Client, js) -> None:
    chosen = await alice.create_session(name="Trip to Japan")
    assert chosen["name_source"] == "user"
    await alice.post(chosen["id"], "Which rail pass should I buy for two weeks in Japan?")

    renamed = await alice.create_session()
    r = await alice.request("PATCH", f"/api/sessions/{renamed['id']}", json={"name": "Budget"})
    assert r.status_code == 200 and r.json()["name_source"] == "user"
    await alice.post(renamed["id"], "How do I keep a monthly budget in a spreadsheet?")

    await stack.settled(js)
    assert (await alice.session(chosen["id"]))["name"] == "Trip to Japan"
    after = await alice.session(renamed["id"])
    assert (after["name"], after["name_source"]) == ("Budget", "user")
    db = await stack.db()
    try:
        # A session created with a name says so on message.created: the namer never tries it
        # (and were it to, the gateway's compare-and-set on the name's source keeps the user's).
        assert (
            await db.fetchval(
                "SELECT status FROM namer.naming_state WHERE session_id = $1",
                uuid.UUID(chosen["id"]),
            )
            == "user"
        )
        assert not await db.fetchval(
            "SELECT count(*) FROM namer.naming_attempts WHERE session_id = $1",
            uuid.UUID(chosen["id"]),
        )
        # The renamed session was never named automatically: session.renamed stopped the namer.
        assert (
            await db.fetchval(
                "SELECT status FROM namer.naming_state WHERE session_id = $1",
                uuid.UUID(renamed["id"]),
            )
            == "user"
        )
    finally:
        await db.close()

    # An automatic name delivered after the user renamed the session is ignored.
    auto = await alice.create_session()
    await alice.post(auto["id"], "Write a haiku about autumn leaves in Kyoto.")
    await alice.wait_for(auto["id"], lambda s: s["name_source"] == "auto")
    r = await alice.request("PATCH", f"/api/sessions/{auto['id']}", json={"name": "Haiku"})
    assert (r.status_code, r.json()["name"], r.json()["name_source"]) == (200, "Haiku", "user")
    late = SessionNamed(
        session_id=uuid.UUID(auto["id"]),
        user_id=alice.user_id,
        name="Autumn Leaves in Kyoto",
        attempt=2,
    )
    await js.publish(
        Subjects(stack.servers.prefix).of(late), late.to_json(), stream=stack.servers.stream
    )
    await stack.settled(js)
    final = await alice.session(auto["id"])
    assert (final["name"], final["name_source"]) == ("Haiku", "user")


async def test_tags_count_per_user_and_model(alice: Client, bob: Client) -> None:
    tags = {}
    for who, client, model in (
        ("a1", alice, None),
        ("a2", alice, None),
        ("b1", bob, None),
        ("a3", alice, "replay-1"),
    ):
        body = {"model": model} if model else {}
        sid = (await client.create_session(**body))["id"]
        session = await client.wait_for(sid, lambda s: s["session_tag"] is not None)
        tags[who] = session
    assert tags["a1"]["session_tag"].endswith("_001")
    assert tags["a2"]["session_tag"].endswith("_002")
    assert tags["b1"]["session_tag"].endswith("_001")
    assert tags["a3"]["session_tag"].endswith("_001")
    model_hex = {
        re.match(r"chat_model_([0-9a-f]{6})_", t["session_tag"]).group(1) for t in tags.values()
    }
    assert len(model_hex) == 2  # echo-1 and replay-1
    assert tags["a2"]["tags"] == [f"[{tags['a2']['model']} #002]"]


async def test_sessions_are_listed_newest_activity_first_in_pages(
    alice: Client, bob: Client
) -> None:
    ids = [(await alice.create_session(name=f"s{n}"))["id"] for n in range(5)]
    await alice.post(ids[1], "bump this one to the top")
    archived = ids[3]
    r = await alice.request("PATCH", f"/api/sessions/{archived}", json={"is_archived": True})
    assert r.json()["is_archived"] is True

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await alice.request("GET", "/api/sessions", params=params)).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [ids[1], ids[4], ids[2], ids[0]]
    everything = (
        await alice.request("GET", "/api/sessions", params={"include_archived": "true"})
    ).json()
    assert archived in [s["id"] for s in everything["items"]]
    found = (await alice.request("GET", "/api/sessions", params={"q": "s4"})).json()
    assert [s["id"] for s in found["items"]] == [ids[4]]
    assert (await bob.request("GET", "/api/sessions")).json()["items"] == []
    bad = await alice.request("GET", "/api/sessions", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith(PROBLEM)


async def test_messages_are_paged_by_seq(alice: Client) -> None:
    sid = (await alice.create_session())["id"]
    for n in range(3):
        await alice.post(sid, f"message {n}")
    first = (
        await alice.request("GET", f"/api/sessions/{sid}/messages", params={"limit": 4})
    ).json()
    assert [m["seq"] for m in first["items"]] == [1, 2, 3, 4] and first["next_after_seq"] == 4
    rest = (
        await alice.request("GET", f"/api/sessions/{sid}/messages", params={"after_seq": 4})
    ).json()
    assert [m["seq"] for m in rest["items"]] == [5, 6] and rest["next_after_seq"] is None


async def test_a_retried_post_with_the_same_idempotency_key_creates_one_message(
    stack: Stack, alice: Client
) -> None:
    sid = (await alice.create_session())["id"]
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = await alice.request(
        "POST",
        f"/api/sessions/{sid}/messages",
        headers=key,
        params={"wait": 10},
        json={"content": "once only"},
    )
    again = await alice.request(
        "POST",
        f"/api/sessions/{sid}/messages",
        headers=key,
        params={"wait": 10},
        json={"content": "once only"},
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["message"]["id"] == again.json()["message"]["id"]
    assert again.json()["reply"] is not None
    # Retried once more as a stream: the stored reply comes at once.
    async with asyncio.timeout(5):
        events = await _sse_events(alice, sid, "once only", headers=key)
    assert [kind for kind, _ in events] == ["message", "reply"]
    assert events[1][1]["id"] == again.json()["reply"]["id"]
    assert (await alice.session(sid))["message_count"] == 2

    # A key older than its time to live (24 h) is forgotten: the same key makes a new message.
    db = await stack.db()
    try:
        await db.execute(
            "UPDATE gateway.idempotency_keys SET created_at = now() - interval '25 hours'"
            " WHERE key = $1",
            key["Idempotency-Key"],
        )
    finally:
        await db.close()
    later = await alice.request(
        "POST", f"/api/sessions/{sid}/messages", headers=key, json={"content": "once only"}
    )
    assert (
        later.status_code == 201 and later.json()["message"]["id"] != first.json()["message"]["id"]
    )


async def test_deleting_a_session_erases_it_everywhere(stack: Stack, alice: Client, js) -> None:
    sid = (await alice.create_session())["id"]
    await alice.post(sid, "Summarise the plot of Hamlet in three sentences.")
    await alice.wait_for(sid, lambda s: s["name_source"] == "auto" and s["session_tag"])
    r = await alice.request("DELETE", f"/api/sessions/{sid}")
    assert r.status_code == 204
    assert (await alice.request("GET", f"/api/sessions/{sid}")).status_code == 404
    await stack.settled(js)
    # A reply published before the deletion but delivered after it brings nothing back.
    late = ReplyCompleted(
        session_id=uuid.UUID(sid),
        user_id=alice.user_id,
        message_id=uuid.uuid4(),
        reply_to=uuid.uuid4(),
        turn=2,
        content="late",
        prompt="late?",
        model="echo-1",
        provider="echo",
        upstream_session_id="echo-late",
        latency_ms=1,
    )
    await js.publish(
        Subjects(stack.servers.prefix).of(late), late.to_json(), stream=stack.servers.stream
    )
    await stack.settled(js)
    db = await stack.db()
    try:
        key = uuid.UUID(sid)
        for table in (
            "gateway.messages",
            "chat.upstream_sessions",
            "chat.transcript",
            "namer.exchanges",
            "namer.naming_state",
            "tagger.llm_traces",
            "tagger.session_tags",
        ):
            assert (
                await db.fetchval(f"SELECT count(*) FROM {table} WHERE session_id = $1", key) == 0
            ), table
    finally:
        await db.close()


async def test_the_gateway_listens_again_after_losing_its_notification_connection(
    stack: Stack, http: httpx.AsyncClient, alice: Client
) -> None:
    listening = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND query LIKE 'LISTEN \"gateway_session_events\"%'"
    )
    db = await stack.db()
    try:
        before = await db.fetchval(listening)
        assert before is not None
        assert await db.fetchval("SELECT pg_terminate_backend($1)", before)
        sid = (await alice.create_session())["id"]
        posted = await alice.post(sid, "Are you still listening?", wait=10)
        assert posted["reply"] is not None
        async with asyncio.timeout(10):
            while (await http.get("/readyz")).status_code != 200:  # noqa: ASYNC110 - over HTTP
                await asyncio.sleep(0.05)
        after = await db.fetchval(listening)
        assert after is not None and after != before
    finally:
        await db.close()
