"""The gateway's durable consumer: keeps sessions current from the other services' events."""

from __future__ import annotations

import json

import structlog
from parley_contracts import ReplyCompleted, ReplyFailed, SessionNamed, SessionTagged
from parley_runtime import ConsumerSpec, HandlerContext, Handlers

from .adapters import store
from .adapters.notifications import notify_counts, notify_reply, notify_session_event
from .domain.sessions import AUTO_REPLACEABLE

log = structlog.get_logger(__name__)


async def on_reply_completed(event: ReplyCompleted, ctx: HandlerContext) -> None:
    """Store the assistant message (seq, count and last-message time kept exact) and wake
    the requests waiting for it."""
    async with ctx.unit_of_work(event) as uow:
        session = await store.get_session(uow.conn, event.session_id, for_update=True)
        if session is None:
            log.info("reply for a deleted session dropped")
            return
        if await store.get_message(uow.conn, event.message_id) is None:
            await store.append_message(
                uow.conn,
                session,
                message_id=event.message_id,
                role="assistant",
                content=event.content,
                status="completed",
                reply_to=event.reply_to,
            )
        await store.set_message_status(uow.conn, event.reply_to, "answered")
        await notify_reply(uow.conn, event.reply_to)
        await notify_counts(uow.conn, event.session_id)
    log.info("reply stored", message_id=str(event.message_id), turn=event.turn)


async def on_reply_failed(event: ReplyFailed, ctx: HandlerContext) -> None:
    """Mark the user message failed, with the reason, and wake its waiters."""
    async with ctx.unit_of_work(event) as uow:
        await store.set_message_status(uow.conn, event.reply_to, "failed", event.reason)
        await notify_reply(uow.conn, event.reply_to)
        await notify_counts(uow.conn, event.session_id)
    log.warning("reply failed", reply_to=str(event.reply_to), reason=event.reason)


async def on_session_named(event: SessionNamed, ctx: HandlerContext) -> None:
    """Apply an automatic name unless the user named the session (compare-and-set on source)."""
    async with ctx.unit_of_work(event) as uow:
        status = await uow.conn.execute(
            "UPDATE sessions SET name = $2, name_source = 'auto', updated_at = now()"
            " WHERE id = $1 AND name_source = ANY($3::text[])",
            event.session_id,
            event.name,
            list(AUTO_REPLACEABLE),
        )
        applied = status.endswith(" 1")
        if applied:
            await notify_session_event(
                uow.conn,
                user_id=event.user_id,
                session_id=event.session_id,
                kind="session.named",
                name=event.name,
            )
    log.info("automatic name " + ("applied" if applied else "ignored"), name=event.name)


async def on_session_tagged(event: SessionTagged, ctx: HandlerContext) -> None:
    """Record the session's tag and its display label."""
    async with ctx.unit_of_work(event) as uow:
        await uow.conn.execute(
            "UPDATE sessions SET session_tag = $2, tags = $3::jsonb, updated_at = now()"
            " WHERE id = $1",
            event.session_id,
            event.session_tag,
            json.dumps([event.label]),
        )
        await notify_session_event(
            uow.conn,
            user_id=event.user_id,
            session_id=event.session_id,
            kind="session.tagged",
            session_tag=event.session_tag,
            tags=[event.label],
        )
    log.info("session tagged", session_tag=event.session_tag)


async def on_give_up(event: object, reason: str, ctx: HandlerContext) -> None:
    """A reply that cannot be stored: fail its message, so the user is not left waiting."""
    if not isinstance(event, ReplyCompleted):
        return
    async with ctx.transaction() as uow:
        await store.set_message_status(
            uow.conn, event.reply_to, "failed", "the reply could not be stored"
        )
        await notify_reply(uow.conn, event.reply_to)
        await notify_counts(uow.conn, event.session_id)
    log.error(
        "reply could not be stored; message marked failed",
        reply_to=str(event.reply_to),
        reason=reason,
    )


def consumer_spec() -> ConsumerSpec:
    """The gateway's durable consumer ``gateway``."""
    return ConsumerSpec(
        durable="gateway",
        handlers=Handlers()
        .on(ReplyCompleted, on_reply_completed)
        .on(ReplyFailed, on_reply_failed)
        .on(SessionNamed, on_session_named)
        .on(SessionTagged, on_session_tagged),
        on_give_up=on_give_up,
    )
