"""At-least-once delivery made exactly-once in effect: redelivery, dead letters, restarts and
ordering, on real NATS JetStream and PostgreSQL."""

from __future__ import annotations

import json
import re
import uuid

import httpx
from parley_contracts import ReplyCompleted, Subjects
from stack import Client, Stack

DURABLES = ["gateway", "chat", "namer", "tagger"]


async def _last(js, stack: Stack, subject: str):  # noqa: ANN001, ANN202
    return await js.get_last_msg(stack.servers.stream, subject)


async def test_redelivered_events_have_exactly_one_effect(stack: Stack, alice: Client, js) -> None:
    session = await alice.create_session()
    sid = session["id"]
    posted = await alice.post(sid, "What is the difference between a mutex and a semaphore?")
    assert posted["reply"] is not None
    await alice.wait_for(sid, lambda s: s["name_source"] == "auto" and s["session_tag"])
    await stack.settled(js)

    subjects = Subjects(stack.servers.prefix)
    created = await _last(js, stack, subjects.event("message.created", sid))
    completed = await _last(js, stack, subjects.event("reply.completed", sid))
    # Deliver both events again, byte for byte (same event_id), under new stream message ids,
    # as a redelivery after the de-duplication window would.
    for raw in (created, completed):
        ack = await js.publish(
            raw.subject,
            raw.data,
            stream=stack.servers.stream,
            headers={"Nats-Msg-Id": f"again-{uuid.uuid4()}"},
        )
        assert ack.duplicate is not True
    await stack.settled(js)

    after = await alice.session(sid, include_messages=True)
    assert after["message_count"] == 2
    assert [m["role"] for m in after["messages"]] == ["user", "assistant"]
    db = await stack.db()
    try:
        sid_uuid = uuid.UUID(sid)
        chat = await db.fetchrow(
            "SELECT replies, opened_count FROM chat.upstream_sessions WHERE session_id = $1",
            sid_uuid,
        )
        assert (chat["replies"], chat["opened_count"]) == (1, 1)
        assert (
            await db.fetchval(
                "SELECT count(*) FROM tagger.llm_traces WHERE session_id = $1", sid_uuid
            )
            == 1
        )
        assert (
            await db.fetchval(
                "SELECT attempts FROM namer.naming_state WHERE session_id = $1", sid_uuid
            )
            == 1
        )
        reply_event_id = uuid.UUID(json.loads(completed.data)["event_id"])
        for schema in ("gateway", "namer", "tagger"):
            assert (
                await db.fetchval(
                    f"SELECT count(*) FROM {schema}.inbox WHERE event_id = $1", reply_event_id
                )
                == 1
            )
    finally:
        await db.close()


async def test_event_that_does_not_validate_goes_to_dead_letters(
    stack: Stack, alice: Client, js
) -> None:
    subjects = Subjects(stack.servers.prefix)
    bogus_session = uuid.uuid4()
    await js.publish(
        subjects.event("message.created", bogus_session),
        b'{"event_type": "message.created", "content": 42}',
        stream=stack.servers.stream,
    )
    await stack.settled(js)
    for consumer in ("chat", "namer"):
        dead = await _last(js, stack, subjects.dead_letter(consumer, None))
        assert dead.data == b'{"event_type": "message.created", "content": 42}'
        assert "invalid event" in dead.headers["Parley-Error"]
        assert dead.headers["Parley-Subject"] == subjects.event("message.created", bogus_session)

    # The consumers go on: the next real message is answered.
    session = await alice.create_session()
    assert (await alice.post(session["id"], "Still there?"))["reply"] is not None


async def test_upstream_session_survives_a_chat_restart(stack: Stack, alice: Client) -> None:
    session = await alice.create_session()
    sid = session["id"]
    first = await alice.post(sid, "Plan a three-day trip to Lisbon in March.")
    await stack.restart("chat")
    second = await alice.post(sid, "Add a day trip to Sintra.")
    ids = [
        re.search(r"upstream session (\S+),", p["reply"]["content"]).group(1)
        for p in (first, second)
    ]
    assert ids[0] == ids[1]
    db = await stack.db()
    try:
        opened = await db.fetchval(
            "SELECT opened_count FROM chat.upstream_sessions WHERE session_id = $1", uuid.UUID(sid)
        )
        assert opened == 1
    finally:
        await db.close()


async def test_messages_posted_at_once_are_answered_in_order(stack: Stack, alice: Client) -> None:
    session = await alice.create_session()
    sid = session["id"]
    seqs = []
    for n in range(1, 6):
        posted = await alice.post(sid, f"question number {n}", wait=0)
        seqs.append(posted["message"]["seq"])
    assert seqs == sorted(set(seqs)), seqs  # replies may take seqs in between, never reorder
    done = await alice.wait_for(sid, lambda s: s["message_count"] == 10)
    messages = (await alice.session(sid, include_messages=True))["messages"]
    users = {m["id"]: m for m in messages if m["role"] == "user"}
    replies = sorted((m for m in messages if m["role"] == "assistant"), key=lambda m: m["seq"])
    assert [users[r["reply_to"]]["content"] for r in replies] == [
        f"question number {n}" for n in range(1, 6)
    ]
    for n, reply in enumerate(replies, start=1):
        assert f"turn {n}]" in reply["content"]
    assert done["last_message_at"] == replies[-1]["created_at"]
    assert all(users[r["reply_to"]]["status"] == "answered" for r in replies)


async def test_a_reply_that_cannot_be_stored_fails_its_message_clearly(
    stack: Stack, alice: Client, js
) -> None:
    await stack.stop("chat")  # the message stays unanswered until the crafted reply comes
    try:
        sid = (await alice.create_session())["id"]
        posted = await alice.post(sid, "Will this reply arrive?", wait=0)
        message = posted["message"]
        broken = ReplyCompleted(
            session_id=uuid.UUID(sid),
            user_id=alice.user_id,
            message_id=uuid.uuid4(),
            reply_to=uuid.UUID(message["id"]),
            turn=1,
            content="PostgreSQL text cannot hold \u0000 this",
            prompt=message["content"],
            model="echo-1",
            provider="echo",
            upstream_session_id="echo-crafted",
            latency_ms=1,
        )
        await js.publish(
            Subjects(stack.servers.prefix).of(broken), broken.to_json(), stream=stack.servers.stream
        )
        await stack.settled(js)
        stored = (await alice.session(sid, include_messages=True))["messages"]
        assert [(m["role"], m["status"]) for m in stored] == [("user", "failed")]
        assert "the reply could not be stored" in stored[0]["error"]
    finally:
        await stack.start("chat")


async def test_a_message_left_without_a_reply_fails_after_the_deadline(stack: Stack) -> None:
    await stack.stop("chat")  # nobody answers
    stack.overrides["gateway"] = {"reply_deadline_s": 1.0, "maintenance_s": 0.2}
    await stack.restart("gateway")
    try:
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
            carol = await Client(http, f"carol-{uuid.uuid4().hex[:6]}").login()
            sid = (await carol.create_session())["id"]
            posted = await carol.post(sid, "Is anyone there?", wait=5)
            assert posted["reply"] is None
            assert posted["message"]["status"] == "failed"  # the waiter was told at once
            assert posted["message"]["error"] == "no reply within 1 s"
    finally:
        stack.overrides.pop("gateway")
        await stack.restart("gateway")
        await stack.start("chat")
