"""Sessions as this gateway replica last committed them, and the user messages it posted and
that still wait for their replies, to start an optimistic write from without reading the rows
again.

An optimistic unit of work saves a session only over the version it started from (see
:class:`~parley_gateway.adapters.repositories.PostgresSessions`), so starting from a copy kept
here instead of a fresh read is safe: a copy another replica's save made stale is refused by
that guard, and the write is read and tried again. What is kept is only ever a committed state,
and an entry is taken out while a unit of work uses it, so two units of one replica never start
from one copy. Only writes that end in a guarded save, or that decide nothing a newer state
would decide otherwise, start from here; reads answered to clients never do. A user message
is kept as posted: storing its reply changes only its status (answered, whatever it was), so
the copy decides nothing a newer state would decide otherwise; the reply's save is guarded on
its session's version and on no reply being stored yet.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections import OrderedDict

from ..domain.messages import Message
from ..domain.sessions import Session

#: Sessions kept (least recently saved out).
SAVED_SESSIONS = 10_000
#: Seconds a kept session may be used for: with several replicas, a bound on how long a copy
#: made stale by another replica's save costs a refused write before it is dropped.
SAVED_TTL_S = 30.0
#: Seconds batches read rows again after a batch was refused for a stale copy: a refused batch
#: is handled again event by event, so where copies go stale often (several replicas writing
#: the same sessions) batches stop starting from them for a while.
BATCH_PAUSE_S = 30.0


def copy_of(session: Session) -> Session:
    """A copy of ``session`` that shares nothing changeable with it (its metadata and tags
    copied)."""
    return dataclasses.replace(session, metadata=dict(session.metadata), tags=list(session.tags))


class SavedSessions:
    """Copies of the sessions this replica committed last, by id, with when they were kept.

    ``capacity``: sessions kept at most; ``ttl_s``: seconds a copy may be taken for.
    """

    def __init__(self, capacity: int = SAVED_SESSIONS, ttl_s: float = SAVED_TTL_S) -> None:
        self.capacity = capacity
        self.ttl_s = ttl_s
        self._kept: OrderedDict[uuid.UUID, tuple[Session, float]] = OrderedDict()
        self._asked: OrderedDict[uuid.UUID, tuple[Message, float]] = OrderedDict()
        self._batches_paused_until = 0.0

    def for_batches(self) -> bool:
        """Whether a batch may start from kept copies: not within :data:`BATCH_PAUSE_S` of a
        batch refused for a stale one (:meth:`stale_in_batch`)."""
        return time.monotonic() >= self._batches_paused_until

    def stale_in_batch(self) -> None:
        """A batch that started from a kept copy was refused: copies go stale here (another
        replica writes the same sessions), so batches read rows for :data:`BATCH_PAUSE_S`."""
        self._batches_paused_until = time.monotonic() + BATCH_PAUSE_S

    def take(self, session_id: uuid.UUID) -> tuple[Session, float] | None:
        """The kept copy of ``session_id`` and when it was kept (``time.monotonic()``), taken
        out (the caller owns it), or None when none is kept or it is older than ``ttl_s``."""
        kept = self._kept.pop(session_id, None)
        if kept is None or time.monotonic() - kept[1] > self.ttl_s:
            return None
        return kept

    def restore(self, session: Session, kept_at: float) -> None:
        """Put back a copy taken out and left unchanged, with the time it was first kept (so
        ``ttl_s`` still bounds its age), unless another copy was kept meanwhile."""
        if session.id not in self._kept:
            self._kept[session.id] = (session, kept_at)
            self._bound()

    def keep(self, session: Session) -> None:
        """Keep ``session`` (a :func:`copy_of` the state written, nobody else changes) as
        committed, its ``version`` the stored one, unless a later version is kept already."""
        held = self._kept.get(session.id)
        if held is not None and held[0].version >= session.version:
            return
        self._kept[session.id] = (session, time.monotonic())
        self._kept.move_to_end(session.id)
        self._bound()

    def _bound(self) -> None:
        while len(self._kept) > self.capacity:
            self._kept.popitem(last=False)
        while len(self._asked) > self.capacity:
            self._asked.popitem(last=False)

    def keep_asked(self, message: Message) -> None:
        """Keep a user message this replica posted (a copy, as committed), until its reply is
        stored or ``ttl_s`` passes."""
        self._asked[message.id] = (dataclasses.replace(message), time.monotonic())
        self._bound()

    def take_asked(self, message_id: uuid.UUID) -> Message | None:
        """The kept copy of user message ``message_id``, taken out, or None when none is kept
        or it is older than ``ttl_s``."""
        kept = self._asked.pop(message_id, None)
        if kept is None or time.monotonic() - kept[1] > self.ttl_s:
            return None
        return kept[0]

    def forget(self, session_id: uuid.UUID) -> None:
        """Keep nothing of ``session_id`` (deleted, or about to be saved under its lock)."""
        self._kept.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._kept)
