"""The chat service's offline upstream adapters."""

from __future__ import annotations

import uuid

import pytest
from parley_chat.adapters.echo import EchoUpstream
from parley_chat.adapters.replay import ReplayUpstream
from parley_chat.domain.upstream import UpstreamError
from parley_runtime.conversations import read_conversations
from realdata import DATA_DIR

DATA = DATA_DIR / "sharegpt_conversations.jsonl"


async def test_echo_says_it_is_offline_and_streams_the_whole_reply() -> None:
    echo = EchoUpstream(delta_words=2)
    upstream_id = await echo.open_session(session_id=uuid.uuid4(), persona=None, first_message="hi")
    pieces: list[str] = []

    async def sink(index: int, text: str) -> None:
        assert index == len(pieces)
        pieces.append(text)

    reply = await echo.send(
        upstream_id=upstream_id, content="How are you?", turn=2, history=[], on_delta=sink
    )
    assert "offline echo" in reply.content and upstream_id in reply.content
    assert "turn 2" in reply.content and reply.content.endswith("How are you?")
    assert "".join(pieces) == reply.content and len(pieces) > 1


async def test_replay_answers_each_turn_with_the_recorded_answer() -> None:
    replay = ReplayUpstream(DATA)
    conversation = next(c for c in read_conversations(DATA) if len(c.exchanges) >= 2)
    upstream_id = await replay.open_session(
        session_id=uuid.uuid4(), persona=None, first_message="  " + conversation.exchanges[0].user
    )
    assert upstream_id == f"replay:{conversation.id}"

    async def sink(index: int, text: str) -> None:
        return None

    for turn in (1, 2):
        reply = await replay.send(
            upstream_id=upstream_id,
            turn=turn,
            history=[],
            on_delta=sink,
            content=conversation.exchanges[turn - 1].user,
        )
        assert reply.content == (
            conversation.exchanges[turn - 1].assistant or "(the recording has no answer here)"
        )
    with pytest.raises(UpstreamError) as missing:
        await replay.open_session(
            session_id=uuid.uuid4(),
            persona=None,
            first_message="a message nobody ever recorded 7f3a",
        )
    assert missing.value.retryable is False
    with pytest.raises(UpstreamError):
        await replay.send(
            upstream_id=upstream_id, content="more", turn=999, history=[], on_delta=sink
        )
