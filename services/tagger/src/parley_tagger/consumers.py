"""The tagger's durable consumer: tags sessions per user and model, and records every reply as
an LLM trace carrying the session tag."""

from __future__ import annotations

import structlog
from parley_contracts import (
    ReplyCompleted,
    SessionCreated,
    SessionDeleted,
    SessionTagged,
    derive_id,
)
from parley_runtime import ConsumerSpec, HandlerContext, Handlers, RetryLater, UnitOfWork

from .adapters import store
from .domain.tags import session_tag, tag_label

log = structlog.get_logger(__name__)


async def _tag(uow: UnitOfWork, cause: SessionCreated) -> None:
    """Tag a new session (once) and publish ``session.tagged``."""
    if await store.get_session_tag(uow.conn, cause.session_id) is not None:
        return
    model, opt_out = cause.model, cause.analytics_opt_out
    model_id = await store.register_model(uow.conn, model)
    counter = await store.next_counter(uow.conn, cause.user_id, model_id)
    tag = session_tag(model_id, counter)
    await store.insert_session_tag(
        uow.conn,
        session_id=cause.session_id,
        user_id=cause.user_id,
        model_id=model_id,
        counter=counter,
        tag=tag,
        analytics_opt_out=opt_out,
    )
    await uow.publish(
        SessionTagged(
            event_id=derive_id(cause.session_id, "session.tagged"),
            correlation_id=cause.correlation_id,
            session_id=cause.session_id,
            user_id=cause.user_id,
            session_tag=tag,
            model=model,
            model_id=model_id,
            counter=counter,
            label=tag_label(model, counter),
        )
    )
    log.info("session tagged", session_tag=tag, model=model)


async def on_session_created(event: SessionCreated, ctx: HandlerContext) -> None:
    """Give the new session its tag."""
    async with ctx.unit_of_work(event) as uow:
        await _tag(uow, event)


async def on_reply_completed(event: ReplyCompleted, ctx: HandlerContext) -> None:
    """Record the reply as a trace carrying the session tag (waiting for the tag if needed)."""
    async with ctx.unit_of_work(event) as uow:
        tag = await store.get_session_tag(uow.conn, event.session_id)
        if (
            tag is None
        ):  # its session.created is late: the tag needs the session's model and opt-out
            raise RetryLater("the session has no tag yet")
        if tag["analytics_opt_out"]:
            return
        await store.insert_trace(
            uow.conn,
            id=event.message_id,
            session_id=event.session_id,
            user_id=event.user_id,
            session_tag=tag["session_tag"],
            model_id=tag["model_id"],
            model=event.model,
            provider=event.provider,
            turn=event.turn,
            input=event.prompt,
            output=event.content,
            upstream_session_id=event.upstream_session_id,
            latency_ms=event.latency_ms,
            input_tokens=event.input_tokens,
            output_tokens=event.output_tokens,
            correlation_id=event.correlation_id,
            created_at=event.occurred_at,
        )
    log.info("trace recorded", session_tag=tag["session_tag"], turn=event.turn)


async def on_session_deleted(event: SessionDeleted, ctx: HandlerContext) -> None:
    """Erase the session's traces and tag."""
    async with ctx.unit_of_work(event) as uow:
        await store.erase_session(uow.conn, event.session_id)
        await uow.forget_session(event.session_id)


def consumer_spec() -> ConsumerSpec:
    """The tagger's durable consumer ``tagger``."""
    return ConsumerSpec(
        durable="tagger",
        handlers=Handlers()
        .on(SessionCreated, on_session_created)
        .on(ReplyCompleted, on_reply_completed)
        .on(SessionDeleted, on_session_deleted),
    )
