"""The HTTP API's views of what happened: a user's event stream of session changes (and nobody
else's) and the LLM traces, paged, with a clear 503 when their owner does not answer."""

from __future__ import annotations

from session_events import EventLog
from stack import Client, Stack

PROBLEM = "application/problem+json"


async def test_the_event_stream_shows_a_users_session_changes_and_nobody_elses(
    alice: Client, bob: Client
) -> None:
    async with EventLog(alice) as alice_log, EventLog(bob) as bob_log:
        sid = (await alice.create_session())["id"]
        await alice.post(sid, "What are the tallest mountains in the Alps?")
        await alice.wait_for(sid, lambda s: s["name_source"] == "auto" and s["session_tag"])
        assert (await alice.request("DELETE", f"/api/sessions/{sid}")).status_code == 204
        await alice_log.until(lambda log: bool(log.of(sid, "session.deleted")), timeout=10)
    seen = {"alice": alice_log.events, "bob": bob_log.events}

    kinds = [kind for kind, data in seen["alice"] if data["session_id"] == sid]
    assert kinds[0] == "session.created" and kinds[-1] == "session.deleted"
    assert {"session.updated", "session.named", "session.tagged"} <= set(kinds)
    counts = [d["message_count"] for k, d in seen["alice"] if k == "session.updated"]
    assert counts == [1, 2]
    named = next(d for k, d in seen["alice"] if k == "session.named")
    assert 1 <= len(named["name"].split()) <= 10
    assert seen["bob"] == []


async def test_traces_are_paged_and_a_missing_owner_is_a_clear_503(
    stack: Stack, alice: Client, js
) -> None:
    sid = (await alice.create_session())["id"]
    for n in range(3):
        await alice.post(sid, f"trace me {n}")
    await alice.wait_for(sid, lambda s: s["session_tag"] is not None)
    await stack.settled(js)
    first = (
        await alice.request("GET", "/api/traces", params={"session_id": sid, "limit": 2})
    ).json()
    assert [t["input"] for t in first["items"]] == ["trace me 2", "trace me 1"]
    rest = (
        await alice.request(
            "GET", "/api/traces", params={"session_id": sid, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [t["input"] for t in rest["items"]] == ["trace me 0"] and rest["next_cursor"] is None

    await stack.stop("tagger")
    try:
        r = await alice.request("GET", "/api/traces")
        assert r.status_code == 503 and r.headers["content-type"].startswith(PROBLEM)
    finally:
        await stack.start("tagger")
