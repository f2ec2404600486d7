"""``GET /api/traces``: the caller's LLM traces, asked of the tagger that owns them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from ..application.traces import list_traces as list_trace_page
from .auth import CurrentUser
from .cursors import decode_cursor, encode_cursor
from .deps import Traces
from .schemas import Text, TraceList

router = APIRouter(prefix="/api", tags=["traces"])


@router.get("/traces", response_model=TraceList, operation_id="listTraces")
async def list_traces(
    user: CurrentUser,
    traces: Traces,
    session_tag: Annotated[Text | None, Query(max_length=100)] = None,
    session_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TraceList:
    """The caller's LLM traces, newest first, by session tag and/or session, ``limit`` per page.
    Asked of the tagger, which owns them (NATS request/reply); 503 if it does not answer."""
    page = await list_trace_page(
        traces,
        user,
        session_tag=session_tag,
        session_id=session_id,
        after=decode_cursor(cursor),
        limit=limit,
    )
    last = page.next_cursor
    return TraceList(
        items=page.items, next_cursor=encode_cursor(last.created_at, last.id) if last else None
    )
