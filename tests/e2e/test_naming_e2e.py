"""Naming in the background: retried after messages 4 and 6 while no name can be made."""

from __future__ import annotations

import uuid

from stack import Client, Stack


async def test_naming_is_retried_after_messages_4_and_6_then_stops(
    stack: Stack, alice: Client, js
) -> None:
    sid = (await alice.create_session())["id"]
    await alice.post(sid, "hi")
    await stack.settled(js)
    assert (await alice.session(sid))["name_source"] == "default"  # nothing to name yet
    await alice.post(sid, "hello")
    await stack.settled(js)
    assert (await alice.session(sid))["name_source"] == "default"
    await alice.post(sid, "How do I rotate a PDF page with qpdf on the command line?")
    named = await alice.wait_for(sid, lambda s: s["name_source"] == "auto")
    assert "pdf" in named["name"].lower(), named["name"]  # named after what was asked
    await alice.post(sid, "And how do I merge two PDF files?")
    await stack.settled(js)

    db = await stack.db()
    try:
        attempts = await db.fetch(
            "SELECT attempt, trigger_turn, outcome FROM namer.naming_attempts"
            " WHERE session_id = $1 ORDER BY attempt",
            uuid.UUID(sid),
        )
    finally:
        await db.close()
    # After message 2 (turn 1), 4 (turn 2) and 6 (turn 3); none after the session is named.
    assert [(a["attempt"], a["trigger_turn"], a["outcome"]) for a in attempts] == [
        (1, 1, "no_name"),
        (2, 2, "no_name"),
        (3, 3, "named"),
    ]
    assert (await alice.session(sid))["name"] == named["name"]


async def test_a_session_that_cannot_be_named_keeps_its_default_name(
    stack: Stack, alice: Client, js
) -> None:
    sid = (await alice.create_session())["id"]
    for content in ("hi", "hey", "hello", "test"):
        await alice.post(sid, content)
    await stack.settled(js)
    session = await alice.session(sid)
    assert (session["name"], session["name_source"]) == ("New chat", "default")
    assert session["message_count"] == 8
