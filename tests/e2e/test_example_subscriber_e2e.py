"""The example subscriber of examples/session-named-subscriber, against the whole stack: a
session created and named through the gateway reaches it as ``session.named``, once, on its own
durable consumer."""

from __future__ import annotations

import asyncio

from parley_contracts import SessionNamed
from session_named_subscriber import build_subscriber, parse_named
from stack import Client, Stack


async def test_the_example_receives_session_named_for_a_session_made_through_the_gateway(
    stack: Stack, alice: Client, js
) -> None:
    received: asyncio.Queue[SessionNamed] = asyncio.Queue()
    broker = build_subscriber(
        stack.servers.nats_url,
        received.put,
        prefix=stack.servers.prefix,
        stream=stack.servers.stream,
        durable="example-session-named-e2e",
    )
    await broker.start()
    try:
        sid = (await alice.create_session())["id"]
        await alice.post(sid, "How do I rotate a PDF page with qpdf on the command line?")
        named = await alice.wait_for(sid, lambda s: s["name_source"] == "auto")

        events: list[SessionNamed] = []
        while not any(e.name == named["name"] for e in events):
            event = await asyncio.wait_for(received.get(), timeout=20)
            if str(event.session_id) == sid:
                events.append(event)
        assert {e.user_id for e in events} == {alice.user_id}
        assert len({e.event_id for e in events}) == len(events)  # each event acted on once

        info = await js.consumer_info(stack.servers.stream, "example-session-named-e2e")
        assert info.config.filter_subject == f"{stack.servers.prefix}.session.named.*"
        # Its own consumer: Parley's namer and gateway consumers are still there, untouched.
        assert (await js.consumer_info(stack.servers.stream, "gateway")).config.durable_name
    finally:
        await broker.stop()


def test_unknown_fields_are_dropped_and_other_versions_left_alone() -> None:
    body = {
        "event_type": "session.named",
        "session_id": "6f1c1b9e-8c1e-4a51-9d7e-2d1b7f0f7a11",
        "user_id": "u1",
        "name": "Rotating PDF pages",
        "attempt": 1,
        "added_later": True,
    }
    event = parse_named(body)
    assert event is not None and event.name == "Rotating PDF pages"
    assert parse_named({**body, "schema_version": 2}) is None
