"""Routes of messages: post one (waiting for its reply, or streaming it as SSE) and page through
a session's messages. Each calls a use case of :mod:`parley_gateway.application.messages`."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from parley_contracts import ReplyDelta
from pydantic import BaseModel
from sse_starlette import EventSourceResponse

from ..application import messages
from ..domain.messages import Message
from ..domain.ports import ReplyWatch
from .auth import CurrentUser
from .deps import Gw, IdempotencyKey, Uow, request_key
from .schemas import MessageCreate, MessageOut, MessagePage, PostedMessage

router = APIRouter(prefix="/api", tags=["messages"])

#: The largest ``seq`` a message can have (the column is a 32-bit ``integer``).
MAX_SEQ = 2**31 - 1


@router.get(
    "/sessions/{session_id}/messages", response_model=MessagePage, operation_id="listMessages"
)
async def list_messages(
    session_id: uuid.UUID,
    user: CurrentUser,
    uow: Uow,
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> MessagePage:
    """Messages of a session in order, after ``after_seq``."""
    page, more = await messages.list_messages(
        uow, user, session_id, after_seq=after_seq, limit=limit
    )
    return MessagePage(
        items=[MessageOut.model_validate(m) for m in page],
        next_after_seq=page[-1].seq if more else None,
    )


@router.post(
    "/sessions/{session_id}/messages",
    status_code=201,
    response_model=PostedMessage,
    operation_id="postMessage",
    responses={
        200: {
            "model": PostedMessage,
            "content": {"text/event-stream": {}},
            "description": "A retry with the same Idempotency-Key, or SSE when asked",
        }
    },
)
async def post_message(
    session_id: uuid.UUID,
    body: MessageCreate,
    user: CurrentUser,
    gw: Gw,
    request: Request,
    response: Response,
    wait: Annotated[float, Query(ge=0, le=300)] = 0,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Post a user message. JSON: waits up to ``wait`` seconds for the reply (null if not ready).

    With ``Accept: text/event-stream``: SSE events ``message``, ``delta``..., then ``reply`` or
    ``error``.
    """
    stream = "text/event-stream" in request.headers.get("accept", "")
    key = request_key(idempotency_key, request, {"content": body.content})
    settings = gw.settings
    async with AsyncExitStack() as held:
        message, created, watch = await held.enter_async_context(
            messages.posted(
                gw.unit_of_work, gw.replies, user, session_id, body.content,
                max_chars=settings.max_content_chars, request_key=key,
                key_ttl_s=settings.idempotency_ttl_s, live=stream, reads=gw.reads,
            )
        )  # fmt: skip
        if stream:
            reply_events = _reply_events(held.pop_all(), watch, message, settings.stream_timeout_s)
            # At shutdown the stream gets a moment to send its last event (the watch ends then).
            return EventSourceResponse(reply_events, ping=15, shutdown_grace_period=3.0)
        outcome = await messages.final_outcome(watch, min(wait, settings.max_wait_s))
    response.status_code = 201 if created else 200
    return PostedMessage(
        message=MessageOut.model_validate(outcome.message),
        reply=MessageOut.model_validate(outcome.reply) if outcome.reply else None,
    )


def _sse(event: str, data: BaseModel | dict[str, Any]) -> dict[str, str]:
    """One SSE event; a model is serialised by pydantic-core, like the JSON responses."""
    text = data.model_dump_json() if isinstance(data, BaseModel) else json.dumps(data)
    return {"event": event, "data": text}


async def _reply_events(
    held: AsyncExitStack, watch: ReplyWatch, message: Message, timeout_s: float
) -> AsyncIterator[dict[str, str]]:
    """SSE: the stored message, the live deltas of its reply, then the stored reply or an
    ``error`` problem (502 failed, 504 not yet answered). Releases ``held`` at the end."""
    async with held:
        yield _sse("message", MessageOut.model_validate(message))
        async for update in watch.updates(timeout_s):
            if isinstance(update, ReplyDelta):
                yield _sse("delta", {"index": update.index, "text": update.text})
            elif update.reply is not None:
                yield _sse("reply", MessageOut.model_validate(update.reply))
            else:
                failure = update.message.failure
                detail = failure or (
                    f"no reply yet (waited up to {timeout_s:.0f} s, less if the gateway is"
                    " stopping); it will still be stored when it comes"
                )
                problem = {"type": "about:blank", "title": "Reply not available"}
                yield _sse(
                    "error", {**problem, "status": 502 if failure else 504, "detail": detail}
                )
