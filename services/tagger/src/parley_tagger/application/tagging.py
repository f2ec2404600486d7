"""Tagging: each session gets a per-user, per-model tag (``chat_model_<id6>_<counter>``) once,
and every reply of a tagged session is recorded as a searchable LLM trace carrying the tag."""

from __future__ import annotations

import functools

import asyncpg
import structlog
from parley_contracts import (
    ReplyCompleted,
    SessionCreated,
    SessionDeleted,
    SessionTagged,
    Trace,
    TraceCursor,
    TracePage,
    TraceQuery,
    derive_id,
)
from parley_runtime import HandlerContext, RetryLater, UnitOfWork, WriteConflict, retried

from ..adapters import store
from ..domain.tags import session_tag, tag_label

log = structlog.get_logger(__name__)


#: Optimistic tries of tagging a session before it is tagged in a transaction.
TAG_TRIES = 3


class NewModel(Exception):
    """The session's model was never seen: it is registered in a transaction."""


async def tag_session(uow: UnitOfWork, cause: SessionCreated) -> None:
    """Tag a new session (once) and publish ``session.tagged``.

    In an optimistic unit of work: one read, then one statement guarded on the user's counter
    as read (:func:`~..adapters.store.tag_as_read`); else, in the unit's transaction, the
    model registered and the counter taken under its row lock.

    Raises:
        NewModel: an optimistic unit of work, for a model never seen (nothing is written).
        WriteConflict: an optimistic unit of work, when another session took the counter or
            tagged the session first (raised at the unit of work's end; nothing is written).
    """
    model, opt_out = cause.model, cause.analytics_opt_out
    if uow.optimistic:
        read = await store.tagging_input(uow.conn, cause.session_id, cause.user_id, model)
        if read.tagged:
            return
        if read.model_id is None:
            raise NewModel(model)
        model_id, counter = read.model_id, read.next_counter
        tag = session_tag(model_id, counter)
        await store.tag_as_read(
            uow, read, session_id=cause.session_id, user_id=cause.user_id, tag=tag,
            analytics_opt_out=opt_out,
        )  # fmt: skip
    else:
        taken = await store.next_counter(uow.conn, cause.session_id, cause.user_id, model)
        if taken is None:
            return  # tagged already
        model_id, counter = taken
        tag = session_tag(model_id, counter)
        await store.insert_session_tag(
            uow.conn, session_id=cause.session_id, user_id=cause.user_id, model_id=model_id,
            counter=counter, tag=tag, analytics_opt_out=opt_out,
        )  # fmt: skip
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
    uow.after_commit(functools.partial(log.info, "session tagged", session_tag=tag, model=model))


async def session_created(event: SessionCreated, ctx: HandlerContext) -> None:
    """Give the new session its tag (once, whatever the redeliveries). Alone: in optimistic
    units of work (a read, then one statement with the inbox mark), read again when another
    session of the user took the counter first, up to :data:`TAG_TRIES` times; then, and for a
    model never seen or in a batch, in a transaction."""

    async def attempt(_: int) -> None:
        async with ctx.unit_of_work(event, optimistic=True) as uow:
            await tag_session(uow, event)

    try:
        await retried(attempt, tries=TAG_TRIES, note="tag counter taken meanwhile; reading it again")
        return
    except (NewModel, WriteConflict):
        pass  # a model never seen, or the counter taken at every try
    async with ctx.unit_of_work(event) as uow:
        await tag_session(uow, event)


async def reply_completed(event: ReplyCompleted, ctx: HandlerContext) -> None:
    """Record the reply as a trace carrying the session tag; none for a session that opted
    out of analytics. Alone, one statement with the inbox mark, without a transaction (an
    optimistic unit of work, guarded on the session's tag).

    Raises:
        RetryLater: the session has no tag yet (its ``session.created`` comes later).
    """
    try:
        async with ctx.unit_of_work(event, optimistic=True) as uow:
            await store.record_trace(
                uow,
                id=event.message_id,
                session_id=event.session_id,
                user_id=event.user_id,
                model=event.model,
                provider=event.provider,
                turn=event.turn,
                input=event.prompt,
                output=event.content,
                upstream_session_id=event.upstream_session_id,
                latency_ms=event.latency_ms,
                input_tokens=event.input_tokens,
                output_tokens=event.output_tokens,
                upstream_response_id=event.upstream_response_id,
                finish_reason=event.finish_reason,
                retries=event.retries,
                upstream_done_at=event.upstream_done_at,
                correlation_id=event.correlation_id,
                created_at=event.occurred_at,
            )
    except WriteConflict as exc:  # its session.created is late: the tag needs its model
        raise RetryLater("the session has no tag yet") from exc
    log.debug("reply traced unless its session opted out", turn=event.turn)


async def session_deleted(event: SessionDeleted, ctx: HandlerContext) -> None:
    """Erase the session's traces and tag."""
    async with ctx.unit_of_work(event) as uow:
        await store.erase_session(uow.conn, event.session_id)
        await uow.forget_session(event.session_id)


async def find_traces(pool: asyncpg.Pool, query: TraceQuery) -> TracePage:
    """Answer a trace query from the gateway: one page of the asking user's traces, newest
    first, with the cursor of the next page (None on the last)."""
    rows = await store.find_traces(
        pool,
        user_id=query.user_id,
        session_tag=query.session_tag,
        session_id=query.session_id,
        after=(query.cursor.created_at, query.cursor.id) if query.cursor else None,
        limit=query.limit + 1,
    )
    page = rows[: query.limit]
    last = page[-1] if len(rows) > query.limit else None
    return TracePage(
        items=[Trace.model_validate(r) for r in page],
        next_cursor=TraceCursor(created_at=last["created_at"], id=last["id"]) if last else None,
    )
