"""A chat session and the rules the gateway enforces on it, free of HTTP and SQL.

A session's ``name_source`` says who chose its name: ``default`` (nobody yet), ``provisional``,
``auto`` (the namer) or ``user``. An automatic name may replace only ``default`` or
``provisional`` names: a user's choice is never overwritten.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from .messages import Message

NameSource = Literal["default", "provisional", "auto", "user"]

#: The longest idle time to live a session may have, in seconds (366 days).
MAX_IDLE_TTL_S = 366 * 24 * 3600

#: Sources an automatic name may replace.
AUTO_REPLACEABLE: tuple[NameSource, ...] = ("default", "provisional")


class RuleViolation(ValueError):
    """Input breaks a session rule; the message says which."""


class SessionNotFound(LookupError):
    """No such session for this user (another user's session looks exactly the same)."""


class NamingConflict(RuntimeError):
    """Naming cannot run on the session as it is now (its user named it, or there is nothing
    to name yet); the message says which."""


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
    """Return a user-chosen session name as one line: every run of whitespace (line breaks
    too) becomes one space, and the ends are trimmed.

    Raises:
        RuleViolation: nothing but whitespace, longer than ``max_chars``, or with a NUL character.
    """
    single_line = " ".join(name.split())
    if not single_line:
        raise RuleViolation("session name is empty")
    if len(single_line) > max_chars:
        raise RuleViolation(
            f"session name is {len(single_line)} characters; the limit is {max_chars}"
        )
    if "\x00" in single_line:
        raise RuleViolation("session name contains a NUL character")
    return single_line


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Session:
    """A user's chat session: its name and who chose it, settings, counters and tag.

    ``next_seq`` is the ``seq`` of the next message; ``message_count`` counts every message,
    ``user_turns`` the user's; ``last_message_at`` is the time of the newest message.
    ``idle_ttl_s``: seconds without a new message after which the session expires (None: never).
    ``version`` is the stored row's version this copy was read at; each save stores the next
    one, and only over that one (a copy read before another save is refused).
    """

    id: uuid.UUID
    user_id: str
    name: str
    name_source: NameSource
    model: str
    persona: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    is_archived: bool = False
    analytics_opt_out: bool = False
    message_count: int = 0
    user_turns: int = 0
    next_seq: int = 1
    session_tag: str | None = None
    tags: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)
    last_message_at: datetime | None = None
    idle_ttl_s: int | None = None
    version: int = 0

    @property
    def activity_at(self) -> datetime:
        """When the session was last active (its newest message, else its creation)."""
        return self.last_message_at or self.created_at

    @property
    def expires_at(self) -> datetime | None:
        """When the session expires if no message comes first: ``idle_ttl_s`` seconds after
        :attr:`activity_at`; None when it never expires."""
        if self.idle_ttl_s is None:
            return None
        return self.activity_at + timedelta(seconds=self.idle_ttl_s)

    def is_expired(self, now: datetime) -> bool:
        """Whether the session has been idle past its ``idle_ttl_s`` at ``now`` (aware UTC)."""
        expires_at = self.expires_at
        return expires_at is not None and expires_at <= now

    def accepts_auto_name(self) -> bool:
        """Whether an automatic name may replace the current one (never a user's choice)."""
        return self.name_source in AUTO_REPLACEABLE

    def accepts_provisional_name(self) -> bool:
        """Whether a provisional name may replace the current one (only the default name: a
        provisional name never replaces a generated one, however late it comes)."""
        return self.name_source == "default"

    def apply_auto_name(self, name: str, source: Literal["provisional", "auto"] = "auto") -> bool:
        """Take the namer's ``name``: a generated one (``auto``) if :meth:`accepts_auto_name`, a
        ``provisional`` one if :meth:`accepts_provisional_name`; returns whether it did."""
        allowed = (
            self.accepts_provisional_name() if source == "provisional" else self.accepts_auto_name()
        )
        if not allowed:
            return False
        self.name, self.name_source = name, source
        self._touch()
        return True

    def accepts_regenerated_name(self) -> bool:
        """Whether the user may ask for a new generated name (any name but the user's own)."""
        return self.name_source != "user"

    def apply_regenerated_name(self, name: str) -> bool:
        """Take a name generated again at the user's request, unless the user named the
        session; returns whether it did."""
        if not self.accepts_regenerated_name():
            return False
        self.name, self.name_source = name, "auto"
        self._touch()
        return True

    def rename(self, name: str, max_chars: int) -> None:
        """Take a name the user chose (checked by :func:`check_name`); it is never replaced
        by an automatic one.

        Raises:
            RuleViolation: the name breaks :func:`check_name`.
        """
        self.name, self.name_source = check_name(name, max_chars), "user"
        self._touch()

    def edit(
        self,
        *,
        is_archived: bool | None = None,
        persona: str | None = None,
        metadata: dict[str, Any] | None = None,
        clear_persona: bool = False,
        idle_ttl_s: int | None = None,
        clear_idle_ttl: bool = False,
    ) -> None:
        """Archive or restore, change the persona (``clear_persona`` removes it), replace the
        metadata, or change the idle time to live (``clear_idle_ttl``: never expire); None leaves
        a field as it is."""
        if is_archived is not None:
            self.is_archived = is_archived
        if persona is not None or clear_persona:
            self.persona = persona
        if metadata is not None:
            self.metadata = metadata
        if idle_ttl_s is not None or clear_idle_ttl:
            self.idle_ttl_s = idle_ttl_s
        self._touch()

    def tag(self, session_tag: str, label: str) -> None:
        """Record the tagger's tag and its display label."""
        self.session_tag, self.tags = session_tag, [label]
        self._touch()

    def append(self, message: Message) -> Message:
        """Give ``message`` the next ``seq`` and move the counters with it; returns it.

        Raises:
            ValueError: the message belongs to another session.
        """
        if message.session_id != self.id:
            raise ValueError(f"message {message.id} belongs to another session")
        message.seq = self.next_seq
        self.next_seq += 1
        self.message_count += 1
        if message.role == "user":
            self.user_turns += 1
        self.last_message_at = message.created_at
        self._touch()
        return message

    def _touch(self) -> None:
        self.updated_at = _now()
