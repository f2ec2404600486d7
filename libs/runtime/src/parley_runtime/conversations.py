"""Reader of recorded conversations in the ShareGPT JSON-lines format.

One line per conversation: ``{"id": str, "messages": [{"role": "user"|"assistant", "content": str}]}``
(the format of ``shared/data/sharegpt_conversations.jsonl``). A conversation is read as a list of
exchanges: each user message with the assistant text that follows it (several assistant messages
joined by a blank line; empty when the recording has none).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Exchange:
    """One user message and the recorded assistant answer (may be empty)."""

    user: str
    assistant: str


@dataclass(frozen=True)
class Conversation:
    """A recorded conversation: its id and its exchanges in order."""

    id: str
    exchanges: tuple[Exchange, ...]


def to_exchanges(messages: list[dict[str, str]]) -> tuple[Exchange, ...]:
    """Group messages into exchanges; assistant messages before the first user one are dropped."""
    exchanges: list[tuple[str, list[str]]] = []
    for message in messages:
        content = (message.get("content") or "").strip()
        if message.get("role") == "user":
            if content:
                exchanges.append((content, []))
        elif exchanges and content:
            exchanges[-1][1].append(content)
    return tuple(Exchange(user, "\n\n".join(answers)) for user, answers in exchanges)


def read_conversations(path: Path | str, limit: int | None = None) -> Iterator[Conversation]:
    """Yield the conversations of a JSON-lines file that have at least one user message.

    Raises:
        OSError: the file cannot be read.
        ValueError: a line is not JSON.
    """
    count = 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            row = json.loads(line)
            exchanges = to_exchanges(row.get("messages") or [])
            if not exchanges:
                continue
            yield Conversation(id=str(row.get("id")), exchanges=exchanges)
            count += 1
            if limit is not None and count >= limit:
                return


def normalize(text: str) -> str:
    """Whitespace-folded text, for matching a live message with a recorded one."""
    return " ".join(text.split())
