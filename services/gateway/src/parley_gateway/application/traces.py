"""Use case of traces: a page of the caller's LLM traces, asked of their owner."""

from __future__ import annotations

import uuid

from parley_contracts import TraceCursor, TracePage, TraceQuery

from ..domain.ports import Keyset, TraceSource


async def list_traces(
    source: TraceSource,
    user: str,
    *,
    session_tag: str | None,
    session_id: uuid.UUID | None,
    after: Keyset | None,
    limit: int,
) -> TracePage:
    """The user's traces, newest first, by tag and/or session, after ``after``.

    Raises:
        OwnerUnavailable: the tagger did not answer.
    """
    query = TraceQuery(
        user_id=user,
        session_tag=session_tag,
        session_id=session_id,
        cursor=TraceCursor(created_at=after[0], id=after[1]) if after else None,
        limit=limit,
    )
    return await source.page(query)
