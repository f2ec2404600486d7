"""Use cases of messages: post one (watching for its reply), page through them, and read
where one stands."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta

import structlog
from parley_contracts import MessageCreated, SessionChange

from ..domain.idempotency import IdempotencyKeyReused, RequestKey
from ..domain.messages import Message
from ..domain.ports import (
    ConcurrentUpdate,
    OutcomeReader,
    ReplyOutcome,
    ReplyWatch,
    ReplyWatcher,
    UnitOfWork,
    UnitOfWorkFactory,
)
from ..domain.sessions import Session, SessionNotFound, check_content
from .optimistic import OPTIMISTIC_TRIES as OPTIMISTIC_TRIES
from .optimistic import optimistically
from .sessions import load

log = structlog.get_logger(__name__)

#: A session that expires sooner than this is posted to under its lock.
EXPIRY_MARGIN = timedelta(minutes=1)


def counts_change(session: Session) -> SessionChange:
    """``session.updated`` with the session's message count and last message time."""
    return SessionChange(
        event="session.updated",
        user_id=session.user_id,
        session_id=session.id,
        message_count=session.message_count,
        last_message_at=session.last_message_at,
    )


async def post_message(
    uow_factory: UnitOfWorkFactory,
    user: str,
    session_id: uuid.UUID,
    message_id: uuid.UUID,
    content: str,
    *,
    max_chars: int,
    request_key: RequestKey | None = None,
    key_ttl_s: float = 0.0,
    live: bool = False,
) -> tuple[Message, bool]:
    """Store the user message ``message_id`` and its ``message.created`` event (``live``: the
    poster streams the reply, so its deltas are published); returns ``(message, created)``. A
    retry with a ``request_key`` used within ``key_ttl_s`` seconds returns the first message,
    not created (and its deltas as the first request asked).

    Without a ``request_key`` the session is read without its lock and saved over the version
    read, in one statement (an optimistic unit of work), tried again while another save of the
    session comes first (:func:`~.optimistic.optimistically`); then, as with a key or for a
    session about to expire, under its lock.

    Raises:
        RuleViolation: bad content. SessionNotFound. IdempotencyKeyReused: the key named
        another request (another body, session or resource).
    """
    content = check_content(content, max_chars)
    if request_key is None:
        posted = await _post_optimistically(uow_factory, user, session_id, message_id, content, live)
        if posted is not None:
            log.debug("message accepted", session_id=str(session_id), message_id=str(message_id))
            return posted, True
    async with uow_factory() as uow:
        session = await load(uow, session_id, user, lock=True)
        if request_key is not None:
            earlier = await uow.idempotency_keys.claim(
                user, request_key.key, "message", message_id, request_key.fingerprint, key_ttl_s
            )
            if earlier is not None:
                existing = await uow.messages.get(earlier.resource_id)
                if (
                    not earlier.matches("message", request_key.fingerprint)
                    or existing is None
                    or existing.session_id != session_id
                ):
                    raise IdempotencyKeyReused("this key was used for another request")
                return existing, False
        message = await _append(uow, session, message_id, content, live)
    log.debug("message accepted", session_id=str(session_id), message_id=str(message_id))
    return message, True


async def _post_optimistically(
    uow_factory: UnitOfWorkFactory, user: str, session_id: uuid.UUID, message_id: uuid.UUID,
    content: str, live: bool,
) -> Message | None:  # fmt: skip
    """Post in optimistic units of work (:func:`~.optimistic.optimistically`); the message, or
    None when the session changed at every try or expires within :data:`EXPIRY_MARGIN` (the
    expiry sweep passes over locked sessions only: such a post takes the lock).

    Raises:
        SessionNotFound.
    """

    async def append(uow: UnitOfWork) -> Message | None:
        session = await load(uow, session_id, user, lock=False)
        expires_at = session.expires_at
        if expires_at is not None and expires_at - datetime.now(UTC) <= EXPIRY_MARGIN:
            return None
        return await _append(uow, session, message_id, content, live)

    try:
        return await optimistically(lambda: uow_factory(optimistic=True), append)
    except ConcurrentUpdate:
        return None


async def _append(
    uow: UnitOfWork, session: Session, message_id: uuid.UUID, content: str, live: bool
) -> Message:
    """Append the user message to ``session``, save both, publish ``message.created`` and
    announce the new counts, in ``uow``; returns the message."""
    message = session.append(Message.from_user(message_id, session.id, content))
    await uow.sessions.save(session, [message])
    await uow.publish(
        MessageCreated(
            session_id=session.id,
            user_id=session.user_id,
            correlation_id=message_id,
            message_id=message_id,
            seq=message.seq,
            turn=session.user_turns,
            content=content,
            model=session.model,
            persona=session.persona,
            live=live,
        )
    )
    await uow.announce(counts_change(session))
    return message


@asynccontextmanager
async def posted(
    uow_factory: UnitOfWorkFactory,
    replies: ReplyWatcher,
    user: str,
    session_id: uuid.UUID,
    content: str,
    *,
    max_chars: int,
    request_key: RequestKey | None = None,
    key_ttl_s: float = 0.0,
    live: bool = False,
    reads: UnitOfWorkFactory | None = None,
) -> AsyncIterator[tuple[Message, bool, ReplyWatch]]:
    """:func:`post_message` with a watch of its reply, held while the context is open: yields
    ``(message, created, watch)``. The watch reads where the message stands in units of work of
    ``reads`` (one statement each, no transaction needed), else of ``uow_factory``.

    The watch opens before the message is committed, so no announcement of the reply is
    missed; a retry watches the first message instead (its first read sees what is stored).
    ``live`` also receives the reply's deltas. Raises what :func:`post_message` raises.
    """
    message_id = uuid.uuid4()
    read = outcome_reader(reads or uow_factory)
    async with AsyncExitStack() as held:
        watch = await held.enter_async_context(
            replies.watch(message_id, session_id, read, live=live)
        )
        message, created = await post_message(
            uow_factory, user, session_id, message_id, content,
            max_chars=max_chars, request_key=request_key, key_ttl_s=key_ttl_s, live=live,
        )  # fmt: skip
        if created:
            watch.starts_from(ReplyOutcome(message, None))  # just stored: pending, no reply
        else:
            watch = await held.enter_async_context(
                replies.watch(message.id, session_id, read, live=live)
            )
        yield message, created, watch


async def final_outcome(watch: ReplyWatch, wait_s: float) -> ReplyOutcome:
    """Where the watched message stands once settled, or after ``wait_s`` seconds (deltas are
    passed over)."""
    async for update in watch.updates(wait_s):
        if isinstance(update, ReplyOutcome):
            return update
    raise RuntimeError("a reply watch ended without an outcome")


async def list_messages(
    uow_factory: UnitOfWorkFactory, user: str, session_id: uuid.UUID, *, after_seq: int, limit: int
) -> tuple[list[Message], bool]:
    """The session's messages after ``after_seq`` in order; returns ``(page, more)``.

    Raises:
        SessionNotFound.
    """
    async with uow_factory() as uow:
        if await uow.sessions.get(session_id, user) is None:
            raise SessionNotFound(str(session_id))
        found = await uow.messages.page(session_id, after_seq=after_seq, limit=limit + 1)
    return found[:limit], len(found) > limit


async def read_outcome(uow: UnitOfWork, message_id: uuid.UUID) -> ReplyOutcome:
    """Where ``message_id`` stands. The message and its reply are read together, in one
    statement: both are committed together, so a message read with its reply is never still
    ``pending``.

    Raises:
        SessionNotFound: the message is gone (its session was deleted).
    """
    message, reply = await uow.messages.with_reply(message_id)
    if message is None:
        raise SessionNotFound(f"message {message_id} is gone")
    return ReplyOutcome(message, reply)


def outcome_reader(uow_factory: UnitOfWorkFactory) -> OutcomeReader:
    """:func:`read_outcome`, each time in its own unit of work."""

    async def read(message_id: uuid.UUID) -> ReplyOutcome:
        async with uow_factory() as uow:
            return await read_outcome(uow, message_id)

    return read
