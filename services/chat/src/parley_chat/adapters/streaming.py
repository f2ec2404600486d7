"""Streaming a finished text as live deltas, for providers that answer in one piece."""

from __future__ import annotations

import re

from ..domain.upstream import DeltaSink

_WORDS = re.compile(r"\S+\s*")


async def stream_words(text: str, words_per_delta: int, on_delta: DeltaSink) -> None:
    """Send ``text`` to ``on_delta`` in pieces of ``words_per_delta`` words (whitespace kept)."""
    words = _WORDS.findall(text)
    for index, start in enumerate(range(0, len(words), words_per_delta)):
        await on_delta(index, "".join(words[start : start + words_per_delta]))
