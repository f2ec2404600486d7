"""Conversations to name, read from a ShareGPT-style or a prompt-per-line file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parley_namer.domain.names import Turn

_ROLES = {"user": "user", "human": "user", "assistant": "assistant", "gpt": "assistant"}
_PROMPT_KEYS = ("prompt", "text", "content", "question", "instruction")


class BadLine(ValueError):
    """A line of the file is neither a conversation nor a prompt (``line`` is 1-based)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line


@dataclass(frozen=True)
class Conversation:
    """The turns a namer reads: the first user message and the first reply after it, if any."""

    id: str
    turns: tuple[Turn, ...]

    @property
    def first_message(self) -> str:
        """The first user message."""
        return self.turns[0].content


def _opening(messages: list[Any], line: int) -> tuple[Turn, ...]:
    """First user message and the reply that follows it, from ``{role, content}`` or ShareGPT's
    ``{from, value}`` items."""
    turns: list[Turn] = []
    for item in messages:
        if not isinstance(item, dict):
            raise BadLine(line, "a message is not an object")
        role = _ROLES.get(str(item.get("role", item.get("from", ""))).lower())
        content = item.get("content", item.get("value"))
        if role is None or not isinstance(content, str):
            continue
        if not turns and role != "user":
            continue
        if turns and role == turns[-1].role:
            break
        turns.append(Turn(role, content))
        if len(turns) == 2:
            break
    if not turns:
        raise BadLine(line, "no user message")
    return tuple(turns)


def parse_line(text: str, line: int) -> Conversation | None:
    """One conversation from one line: a JSON object with ``messages`` or ``conversations``
    (ShareGPT), or with a prompt field (``prompt``, ``text`` ...), a JSON string, or plain
    text (the prompt itself). None for a blank line. Raises :class:`BadLine`."""
    if not text.strip():
        return None
    try:
        row: Any = json.loads(text)
    except json.JSONDecodeError:
        row = text.strip()
    if isinstance(row, str):
        return Conversation(str(line), (Turn("user", row),))
    if not isinstance(row, dict):
        raise BadLine(line, "neither an object nor a prompt")
    row_id = str(row.get("id", line))
    messages = row.get("messages", row.get("conversations"))
    if isinstance(messages, list):
        return Conversation(row_id, _opening(messages, line))
    for key in _PROMPT_KEYS:
        if isinstance(row.get(key), str):
            return Conversation(row_id, (Turn("user", row[key]),))
    raise BadLine(line, "no messages and no prompt field")


def read_conversations(path: Path, limit: int | None = None) -> Iterator[Conversation]:
    """The conversations of the file at ``path``, in order, at most ``limit``. Raises
    :class:`BadLine` and ``OSError``."""
    count = 0
    with path.open(encoding="utf-8") as f:
        for number, text in enumerate(f, start=1):
            if limit is not None and count >= limit:
                return
            conversation = parse_line(text, number)
            if conversation is not None:
                count += 1
                yield conversation
