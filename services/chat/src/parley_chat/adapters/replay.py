"""The ``replay`` upstream: answers with the recorded assistant turns of a conversations file.

The upstream session is the recorded conversation whose first user message equals the session's
first message (whitespace folded); turn N is answered with the recorded answer to user turn N.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

from parley_runtime.conversations import Conversation, normalize, read_conversations

from ..domain.upstream import DeltaSink, TranscriptTurn, UpstreamError, UpstreamReply
from .streaming import stream_words


class ReplayUpstream:
    """Replays ``path`` (ShareGPT JSON lines).

    Raises:
        OSError, ValueError: at construction, when the file cannot be read or parsed.
    """

    provider = "replay"
    stateless = False

    def __init__(self, path: Path, model: str = "replay-1", delta_words: int = 8) -> None:
        self.model = model
        self._delta_words = delta_words
        self._by_id: dict[str, Conversation] = {}
        self._by_first: dict[str, Conversation] = {}
        for conversation in read_conversations(path):
            self._by_id[conversation.id] = conversation
            self._by_first.setdefault(normalize(conversation.exchanges[0].user), conversation)

    def __len__(self) -> int:
        return len(self._by_id)

    async def open_session(
        self,
        *,
        session_id: uuid.UUID,
        persona: str | None,
        first_message: str,
        history: Sequence[TranscriptTurn] = (),
    ) -> str:
        """``replay:<conversation id>`` of the conversation starting with ``first_message``.

        Raises:
            UpstreamError: no recorded conversation starts with it (not retryable).
        """
        conversation = self._by_first.get(normalize(first_message))
        if conversation is None:
            raise UpstreamError(
                "replay: no recorded conversation starts with this message", retryable=False
            )
        return f"replay:{conversation.id}"

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
        """The recorded answer to user turn ``turn``, streamed a few words at a time.

        Raises:
            UpstreamError: unknown conversation, or the recording has no such turn.
        """
        conversation = self._by_id.get((upstream_id or "").removeprefix("replay:"))
        if conversation is None:
            raise UpstreamError(f"replay: unknown upstream session {upstream_id}", retryable=False)
        if turn > len(conversation.exchanges):
            raise UpstreamError(
                f"replay: the recording has {len(conversation.exchanges)} turns, not {turn}",
                retryable=False,
            )
        text = conversation.exchanges[turn - 1].assistant or "(the recording has no answer here)"
        await stream_words(text, self._delta_words, on_delta)
        return UpstreamReply(text)
