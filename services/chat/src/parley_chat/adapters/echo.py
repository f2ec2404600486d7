"""The ``echo`` upstream: an offline stand-in that says plainly that it is one."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from ..domain.upstream import DeltaSink, TranscriptTurn, UpstreamReply
from .streaming import stream_words


class EchoUpstream:
    """Answers every message by echoing it, naming the upstream session and turn it used."""

    provider = "echo"
    stateless = False

    def __init__(self, model: str = "echo-1", delta_words: int = 8) -> None:
        self.model = model
        self._delta_words = delta_words

    async def open_session(
        self,
        *,
        session_id: uuid.UUID,
        persona: str | None,
        first_message: str,
        history: Sequence[TranscriptTurn] = (),
    ) -> str:
        """A new upstream id, ``echo-<12 hex>``."""
        return f"echo-{uuid.uuid4().hex[:12]}"

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
        """The echo reply, streamed a few words at a time."""
        text = (
            f"[offline echo: no AI model is connected; upstream session {upstream_id}, turn {turn}]"
            f" You said: {content}"
        )
        await stream_words(text, self._delta_words, on_delta)
        return UpstreamReply(
            text, input_tokens=len(content.split()), output_tokens=len(text.split())
        )
