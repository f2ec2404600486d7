"""What the fake upstream remembers: its sessions, every request, and the failures it was told
to produce."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Recorded:
    """One request the fake answered (or refused).

    ``api`` is ``gemini``, ``openai``, ``chat`` (chat completions) or ``session``; ``action``
    ``create`` (a new upstream session), ``continue`` (an existing one, ``session`` naming it),
    ``conversation`` (``conversations.create``), ``json`` (structured output) or ``stateless``;
    ``session`` the upstream session's root id; ``status`` the HTTP status answered; ``started``
    and ``ended`` ``time.time()`` of the request's arrival and of the answer's last byte.
    """

    api: str
    action: str
    path: str
    body: dict[str, Any]
    session: str | None = None
    continued_from: str | None = None
    status: int = 200
    started: float = field(default_factory=time.time)
    ended: float | None = None


@dataclass
class Failure:
    """Answer the next ``count`` matching requests with ``status`` (and ``Retry-After``)."""

    status: int
    count: int
    retry_after: float | None = None
    api: str | None = None


class FakeState:
    """Sessions, recorded requests and planned failures of one fake upstream."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.failures: list[Failure] = []
        self.delay_s = 0.0
        self.delta_delay_s = 0.0
        #: upstream id (conversation, interaction, session) -> (root session id, turns answered)
        self.sessions: dict[str, tuple[str, int]] = {}
        self.lost: set[str] = set()
        #: raw texts the next structured-output calls answer with, in order (then sample JSON)
        self.json_answers: list[str] = []
        self._ids = itertools.count(1)

    def new_id(self, prefix: str) -> str:
        """A fresh id, ``<prefix>_<n>``."""
        return f"{prefix}_{next(self._ids)}"

    def fail(
        self,
        status: int,
        *,
        count: int = 1,
        retry_after: float | None = None,
        api: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests (of ``api``, or any) with ``status``."""
        self.failures.append(Failure(status, count, retry_after, api))

    def answer_json(self, *texts: str) -> None:
        """Answer the next structured-output calls (any API) with these raw texts, in order:
        JSON or not, matching the schema or not (to test how callers check answers)."""
        self.json_answers.extend(texts)

    def next_json(self, schema: dict[str, Any]) -> str:
        """The raw text of the next structured-output answer: a planned one, else a sample
        matching ``schema``."""
        if self.json_answers:
            return self.json_answers.pop(0)
        return json.dumps(sample_json(schema))

    def lose(self, upstream_id: str | None = None) -> None:
        """Forget one upstream session (its root), or all of them: the next use gets 404."""
        roots = {root for root, _ in self.sessions.values()}
        self.lost |= {upstream_id} if upstream_id else roots

    def reset(self) -> None:
        """Forget requests, failures, planned answers and delays (the sessions stay)."""
        self.requests.clear()
        self.failures.clear()
        self.json_answers.clear()
        self.delay_s = self.delta_delay_s = 0.0

    def planned_failure(self, api: str) -> Failure | None:
        """The failure to answer a request of ``api`` with now, if one is planned (used up)."""
        for failure in self.failures:
            if failure.count > 0 and failure.api in (None, api):
                failure.count -= 1
                return failure
        return None

    def known(self, upstream_id: str) -> bool:
        """Whether ``upstream_id`` names a live session."""
        entry = self.sessions.get(upstream_id)
        return entry is not None and entry[0] not in self.lost

    def count(self, api: str, action: str, status: int = 200) -> int:
        """How many requests of ``api`` with ``action`` were answered ``status``."""
        return sum(
            1 for r in self.requests if r.api == api and r.action == action and r.status == status
        )

    def as_json(self) -> list[dict[str, Any]]:
        """The recorded requests as JSON-ready dicts."""
        return [r.__dict__ for r in self.requests]


def reply_text(api: str, session: str | None, turn: int, message: str) -> str:
    """The deterministic answer: which API, session and turn answered what."""
    where = f"session {session}" if session else "no session"
    return f"Fake {api} reply {turn} ({where}). You said: {message}"


def words(text: str, per_piece: int = 4) -> list[str]:
    """``text`` cut into pieces of ``per_piece`` words, whitespace kept (the streamed deltas)."""
    tokens = text.split(" ")
    return [
        " ".join(tokens[i : i + per_piece]) + (" " if i + per_piece < len(tokens) else "")
        for i in range(0, len(tokens), per_piece)
    ]


def sample_json(schema: dict[str, Any], name: str = "value") -> Any:
    """A deterministic value matching a simple JSON schema (objects, arrays, scalars, enums)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        props = schema.get("properties", {})
        return {key: sample_json(sub, key) for key, sub in props.items()}
    if kind == "array":
        return [sample_json(schema.get("items", {}), name)]
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    return f"Fake {name}"
