"""Session rules the gateway enforces, free of HTTP and SQL.

A session's ``name_source`` says who chose its name: ``default`` (nobody yet), ``provisional``,
``auto`` (the namer) or ``user``. An automatic name may replace only ``default`` or ``provisional``
names: a user's choice is never overwritten (compare-and-set on the source).
"""

from __future__ import annotations

from typing import Literal

NameSource = Literal["default", "provisional", "auto", "user"]

#: Sources an automatic name may replace.
AUTO_REPLACEABLE: tuple[NameSource, ...] = ("default", "provisional")


class RuleViolation(ValueError):
    """Input breaks a session rule; the message says which."""


def check_content(content: str, max_chars: int) -> str:
    """Return the message content if it is acceptable.

    Raises:
        RuleViolation: blank, longer than ``max_chars`` characters, or with a NUL character
        (which PostgreSQL text cannot hold).
    """
    if not content.strip():
        raise RuleViolation("message content is empty")
    if "\x00" in content:
        raise RuleViolation("message content contains a NUL character")
    if len(content) > max_chars:
        raise RuleViolation(
            f"message content is {len(content)} characters; the limit is {max_chars}"
        )
    return content


def check_name(name: str, max_chars: int) -> str:
    """Return a user-chosen session name, trimmed.

    Raises:
        RuleViolation: blank, longer than ``max_chars``, with a line break or a NUL character.
    """
    trimmed = name.strip()
    if not trimmed:
        raise RuleViolation("session name is empty")
    if len(trimmed) > max_chars:
        raise RuleViolation(f"session name is {len(trimmed)} characters; the limit is {max_chars}")
    if "\n" in trimmed or "\r" in trimmed or "\x00" in trimmed:
        raise RuleViolation("session name must be a single line of text")
    return trimmed
