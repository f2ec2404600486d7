"""Upstream failures: retried, ordered, and settled so that one bad turn never blocks a session."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence

import pytest
from parley_chat.adapters.echo import EchoUpstream
from parley_chat.app import MIGRATIONS
from parley_chat.consumers import ChatHandlers
from parley_chat.domain.upstream import (
    DeltaSink,
    TranscriptTurn,
    UpstreamError,
    UpstreamReply,
    UpstreamSessionLost,
)
from parley_chat.settings import ChatSettings
from parley_runtime import Service
from stack import Client, Stack


class FlakyUpstream(EchoUpstream):
    """The echo upstream, failing on messages that contain ``flaky`` (the first two tries) or
    ``broken`` (always, not retryable), and refusing to open a session whose first message
    contains ``unheard``."""

    def __init__(self) -> None:
        super().__init__()
        self.tries: Counter[str] = Counter()
        self.opened: Counter[str] = Counter()

    async def open_session(
        self,
        *,
        session_id: uuid.UUID,
        persona: str | None,
        first_message: str,
        history: Sequence[TranscriptTurn] = (),
    ) -> str:
        self.opened[first_message] += 1
        if "unheard" in first_message:
            raise UpstreamError("no conversation starts like this", retryable=False)
        return await super().open_session(
            session_id=session_id, persona=persona, first_message=first_message
        )

    async def send(
        self,
        *,
        upstream_id: str | None,
        content: str,
        turn: int,
        history: Sequence[TranscriptTurn],
        on_delta: DeltaSink,
        persona: str | None = None,
    ) -> UpstreamReply:
        self.tries[content] += 1
        if "broken" in content:
            raise UpstreamError("the model refused this request", retryable=False)
        if "flaky" in content and self.tries[content] <= 2:
            raise UpstreamError("upstream timed out", retryable=True)
        return await super().send(
            upstream_id=upstream_id, content=content, turn=turn, history=history, on_delta=on_delta,
            persona=persona,
        )


@pytest.fixture
async def flaky_chat(stack: Stack) -> AsyncIterator[FlakyUpstream]:
    upstream = FlakyUpstream()
    await stack.stop("chat")
    handlers = ChatHandlers(upstream, order_wait_s=0.05)
    settings = ChatSettings(**stack.servers.env(max_deliver=4, backoff_s=(0.2, 0.3)))
    service = Service("chat", settings, migrations=MIGRATIONS, consumers=[handlers.consumer_spec()])
    await stack.start("chat", service)
    yield upstream
    await stack.stop("chat")
    await stack.start("chat")


async def test_a_flaky_turn_is_retried_and_later_turns_wait_for_it(
    stack: Stack, alice: Client, flaky_chat: FlakyUpstream, js
) -> None:
    sid = (await alice.create_session())["id"]
    first = await alice.post(sid, "a flaky question", wait=0)
    second = await alice.post(sid, "a calm follow-up", wait=0)
    done = await alice.wait_for(sid, lambda s: s["message_count"] == 4)
    messages = (await alice.session(sid, include_messages=True))["messages"]
    replies = [m for m in messages if m["role"] == "assistant"]
    assert [r["reply_to"] for r in replies] == [first["message"]["id"], second["message"]["id"]]
    assert "turn 1]" in replies[0]["content"] and "turn 2]" in replies[1]["content"]
    assert flaky_chat.tries["a flaky question"] == 3
    assert done["last_message_at"] == replies[1]["created_at"]


async def test_an_upstream_session_that_cannot_be_opened_fails_at_once(
    stack: Stack, alice: Client, flaky_chat: FlakyUpstream
) -> None:
    sid = (await alice.create_session())["id"]
    failed = await alice.post(sid, "an unheard-of opening", wait=10)
    assert failed["reply"] is None and failed["message"]["status"] == "failed"
    assert "no conversation starts like this" in failed["message"]["error"]
    assert flaky_chat.opened["an unheard-of opening"] == 1  # not retried: it cannot succeed


async def test_a_refused_turn_fails_clearly_and_the_session_goes_on(
    stack: Stack, alice: Client, flaky_chat: FlakyUpstream, js
) -> None:
    sid = (await alice.create_session())["id"]
    failed = await alice.post(sid, "a broken request", wait=10)
    assert failed["reply"] is None
    assert failed["message"]["status"] == "failed"
    assert "the model refused this request" in failed["message"]["error"]
    assert flaky_chat.tries["a broken request"] == 1  # not retried: it cannot succeed
    after = await alice.post(sid, "something reasonable", wait=10)
    assert after["reply"] is not None and "turn 2]" in after["reply"]["content"]
    await stack.settled(js)
    dead = await js.get_last_msg(
        stack.servers.stream, f"{stack.servers.prefix}.deadletter.chat.{sid}"
    )
    assert "unprocessable" in dead.headers["Parley-Error"]


class ForgetfulUpstream(EchoUpstream):
    """The echo upstream, which loses its first upstream session after one turn (as a provider
    that expired it would answer 404) and records the history it is sent."""

    def __init__(self) -> None:
        super().__init__()
        self.lost: set[str] = set()
        self.histories: list[list[str]] = []

    async def send(
        self,
        *,
        upstream_id: str | None,
        content: str,
        turn: int,
        history: Sequence[TranscriptTurn],
        on_delta: DeltaSink,
        persona: str | None = None,
    ) -> UpstreamReply:
        if upstream_id in self.lost:
            raise UpstreamSessionLost(f"{upstream_id} is gone")
        self.histories.append([t.content for t in history])
        reply = await super().send(
            upstream_id=upstream_id, content=content, turn=turn, history=history, on_delta=on_delta,
            persona=persona,
        )
        if turn == 1:
            self.lost.add(upstream_id)
        return reply


async def test_a_lost_upstream_session_is_rebuilt_from_the_transcript(
    stack: Stack, alice: Client
) -> None:
    upstream = ForgetfulUpstream()
    await stack.stop("chat")
    handlers = ChatHandlers(upstream)
    service = Service(
        "chat",
        ChatSettings(**stack.servers.env()),
        migrations=MIGRATIONS,
        consumers=[handlers.consumer_spec()],
    )
    await stack.start("chat", service)
    try:
        sid = (await alice.create_session())["id"]
        first = await alice.post(sid, "Remember the number 42.")
        second = await alice.post(sid, "Which number did I ask you to remember?")
    finally:
        await stack.stop("chat")
        await stack.start("chat")
    assert first["reply"] and second["reply"]
    ids = [
        re.search(r"upstream session (\S+),", p["reply"]["content"]).group(1)
        for p in (first, second)
    ]
    assert ids[0] != ids[1]  # a new upstream session...
    assert upstream.histories[-1] == ["Remember the number 42.", first["reply"]["content"]]
    db = await stack.db()
    try:
        row = await db.fetchrow(
            "SELECT opened_count, upstream_id, replies FROM chat.upstream_sessions"
            " WHERE session_id = $1",
            uuid.UUID(sid),
        )
    finally:
        await db.close()
    assert (row["opened_count"], row["upstream_id"], row["replies"]) == (2, ids[1], 2)
