"""A whole conversation through the HTTP API, on real NATS JetStream and PostgreSQL."""

from __future__ import annotations

import re
import uuid

from stack import Client, Stack

TAG = re.compile(r"^chat_model_[0-9a-f]{6}_\d{3}$")
GENERIC = {"test", "hello", "hi", "hey", "greeting"}


async def test_conversation_is_answered_in_order_named_tagged_and_traced(
    stack: Stack, alice: Client, bob: Client, js
) -> None:
    session = await alice.create_session()
    assert session["name_source"] == "default"
    sid = session["id"]
    questions = [
        "How do I merge two sorted linked lists in Rust without extra allocation?",
        "Can the merge be made recursive, and what about stack depth?",
        "Show the iterative version with Option<Box<Node>> pointers.",
    ]
    replies = []
    for question in questions:
        posted = await alice.post(sid, question, wait=20)
        assert posted["message"]["role"] == "user"
        assert posted["reply"] is not None, posted
        replies.append(posted["reply"])

    # Replies come in order, each answering its own message.
    assert [r["role"] for r in replies] == ["assistant"] * 3
    for question, reply in zip(questions, replies, strict=True):
        assert question in reply["content"]
    seqs = [r["seq"] for r in replies]
    assert seqs == sorted(seqs)

    # One upstream session, created once and reused twice.
    upstream_ids = {re.search(r"upstream session (\S+),", r["content"]).group(1) for r in replies}
    assert len(upstream_ids) == 1
    db = await stack.db()
    try:
        row = await db.fetchrow(
            "SELECT opened_count, replies, last_turn, upstream_id FROM chat.upstream_sessions"
            " WHERE session_id = $1",
            uuid.UUID(sid),
        )
        assert row["opened_count"] == 1 and row["replies"] == 3 and row["last_turn"] == 3
        assert row["upstream_id"] in upstream_ids

        named = await alice.wait_for(
            sid, lambda s: s["name_source"] == "auto" and s["session_tag"] is not None
        )
        assert named["message_count"] == 6
        words = named["name"].split()
        assert 1 <= len(words) <= 10
        assert not GENERIC & {w.lower() for w in words}
        assert not re.search(r"[\"'`*#<>]", named["name"])
        assert TAG.match(named["session_tag"]), named["session_tag"]
        assert named["last_message_at"] == max(
            m["created_at"] for m in (await alice.session(sid, include_messages=True))["messages"]
        )

        await stack.settled(js)  # the tagger records traces on its own time
        traces = await db.fetch(
            "SELECT turn, input, output FROM tagger.llm_traces"
            " WHERE session_tag = $1 AND user_id = $2 ORDER BY turn",
            named["session_tag"],
            alice.user_id,
        )
        assert [t["turn"] for t in traces] == [1, 2, 3]
        assert [t["input"] for t in traces] == questions
    finally:
        await db.close()

    # The traces are searchable by tag through the API, for their user only.
    found = await alice.request("GET", "/api/traces", params={"session_tag": named["session_tag"]})
    assert found.status_code == 200, found.text
    assert sorted(t["input"] for t in found.json()["items"]) == sorted(questions)
    assert {t["session_id"] for t in found.json()["items"]} == {sid}
    others = await bob.request("GET", "/api/traces", params={"session_tag": named["session_tag"]})
    assert others.json()["items"] == []

    full = await alice.session(sid, include_messages=True)
    assert [m["role"] for m in full["messages"]] == ["user", "assistant"] * 3
    assert [m["seq"] for m in full["messages"]] == [1, 2, 3, 4, 5, 6]

    # Another user cannot see it: 404, exactly like a session that does not exist.
    r = await bob.request("GET", f"/api/sessions/{sid}")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await bob.request("POST", f"/api/sessions/{sid}/messages", json={"content": "hi"})
    assert r.status_code == 404
