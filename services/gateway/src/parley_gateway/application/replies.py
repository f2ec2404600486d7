"""The rules applied to the other services' events: store a reply, fail a message, take an
automatic name, record a tag; and the maintenance pass. Each takes an open unit of work (a
consumer's carries the event's inbox mark) or a factory of them.

:func:`fail_message` is the one place a message fails: a ``reply.failed`` event, a reply that
cannot be stored, and a reply past its deadline all come through it to
:meth:`Message.fail <parley_gateway.domain.messages.Message.fail>`.
"""

from __future__ import annotations

import uuid

import structlog
from parley_contracts import ReplyCompleted, SessionChange, SessionNamed, SessionTagged

from ..domain.messages import Message
from ..domain.ports import ReplyOutcome, UnitOfWork, UnitOfWorkFactory
from .messages import counts_change

log = structlog.get_logger(__name__)

#: The most stale messages one maintenance pass fails (the next pass takes the rest).
STALE_BATCH = 500


async def store_reply(uow: UnitOfWork, event: ReplyCompleted) -> bool:
    """Store the assistant message (once, with the session's next ``seq``), mark its user
    message answered and wake its waiters; returns False if the session is gone."""
    session, asked, reply = await uow.sessions.get_with_reply(event.session_id, event.reply_to)
    if session is None:
        return False
    changed = []
    if reply is None:
        reply = session.append(
            Message.reply(event.message_id, event.session_id, event.reply_to, event.content)
        )
        changed.append(reply)
    if asked is not None:
        asked.answer(reply)
        changed.append(asked)
    await uow.sessions.save(session, changed)
    await uow.announce_reply(event.reply_to, ReplyOutcome(asked, reply) if asked else None)
    await uow.announce(counts_change(session))
    return True


async def fail_message(uow: UnitOfWork, message_id: uuid.UUID, reason: str) -> bool:
    """Fail ``message_id`` with ``reason`` if it is still pending (an answered message stays
    answered) and wake its waiters; returns whether it failed now."""
    message = await uow.messages.get(message_id)
    if message is None or not message.fail(reason):
        return False
    await uow.messages.save(message)
    await uow.announce_reply(message_id, ReplyOutcome(message, None))
    session = await uow.sessions.get(message.session_id)
    if session is not None:
        await uow.announce(counts_change(session))
    return True


async def fail_stale_messages(uow_factory: UnitOfWorkFactory, deadline_s: float) -> int:
    """Fail the user messages still pending after ``deadline_s`` seconds (a reply that comes
    later still lands); returns how many."""
    async with uow_factory() as uow:
        stale = await uow.messages.pending_older_than(deadline_s, STALE_BATCH)
        for message in stale:
            await fail_message(uow, message.id, f"no reply within {deadline_s:.0f} s")
    return len(stale)


async def forget_idempotency_keys(uow_factory: UnitOfWorkFactory, ttl_s: float) -> int:
    """Forget idempotency keys older than ``ttl_s`` seconds; returns how many."""
    async with uow_factory() as uow:
        return await uow.idempotency_keys.prune(ttl_s)


async def apply_auto_name(uow: UnitOfWork, event: SessionNamed) -> bool:
    """Take the namer's name (provisional: over the default name only; generated: unless the
    user named the session); returns whether it did."""
    session = await uow.sessions.get(event.session_id, for_update=True)
    if session is None or not session.apply_auto_name(event.name, event.source):
        return False
    await uow.sessions.save(session)
    await uow.announce(
        SessionChange(
            event="session.named",
            user_id=session.user_id,
            session_id=session.id,
            name=session.name,
            name_source=session.name_source,
        )
    )
    return True


async def record_tag(uow: UnitOfWork, event: SessionTagged) -> bool:
    """Record the session's tag and label; returns False if the session is gone."""
    session = await uow.sessions.get(event.session_id, for_update=True)
    if session is None:
        return False
    session.tag(event.session_tag, event.label)
    await uow.sessions.save(session)
    await uow.announce(
        SessionChange(
            event="session.tagged",
            user_id=session.user_id,
            session_id=session.id,
            session_tag=session.session_tag,
            tags=session.tags,
        )
    )
    return True
