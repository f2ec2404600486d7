"""Routes of sessions: ``/api/sessions`` and ``/api/sessions/{id}``. Each calls one use case of
:mod:`parley_gateway.application.sessions`; a session that is not the caller's is a 404."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ..application import sessions
from .auth import CurrentUser
from .cursors import decode_cursor, encode_cursor
from .deps import Gw, IdempotencyKey, Settings, Uow, request_key
from .models import check_model
from .schemas import (
    MessageOut,
    SessionCreate,
    SessionOut,
    SessionPage,
    SessionPatch,
    Text,
)

router = APIRouter(prefix="/api", tags=["sessions"])

#: OpenAPI links from a created session to the operations on it (for clients and for stateful
#: API testing: each follows ``$response.body#/id`` as ``session_id``).
SESSION_LINKS = {
    name: {"operationId": operation, "parameters": {"session_id": "$response.body#/id"}}
    for name, operation in (
        ("GetSession", "getSession"),
        ("PatchSession", "patchSession"),
        ("DeleteSession", "deleteSession"),
        ("PostMessage", "postMessage"),
        ("ListMessages", "listMessages"),
        ("SuggestNames", "suggestNames"),
        ("RegenerateName", "regenerateName"),
    )
}


@router.post(
    "/sessions",
    status_code=201,
    response_model=SessionOut,
    operation_id="createSession",
    responses={
        201: {"description": "The new session", "links": SESSION_LINKS},
        200: {"model": SessionOut, "description": "A retry with the same Idempotency-Key"},
    },
)
async def create_session(
    body: SessionCreate,
    user: CurrentUser,
    gw: Gw,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> SessionOut:
    """Create a session; a name given here is the user's (``name_source`` "user")."""
    key = request_key(idempotency_key, request, body.model_dump(mode="json"))
    model = check_model(request, body.model)
    new = sessions.NewSession(**(body.model_dump() | {"model": model}))
    session, created = await sessions.create_session(gw.unit_of_work, gw.settings, user, new, key)
    response.status_code = 201 if created else 200
    return SessionOut.model_validate(session)


@router.get("/sessions", response_model=SessionPage, operation_id="listSessions")
async def list_sessions(
    user: CurrentUser,
    uow: Uow,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    include_archived: bool = False,
    q: Annotated[Text | None, Query(max_length=200)] = None,
) -> SessionPage:
    """The caller's sessions, newest activity first, ``limit`` per page."""
    page, more = await sessions.list_sessions(
        uow,
        user,
        limit=limit,
        after=decode_cursor(cursor),
        include_archived=include_archived,
        query=q,
    )
    last = page[-1] if more else None
    return SessionPage(
        items=[SessionOut.model_validate(s) for s in page],
        next_cursor=encode_cursor(last.activity_at, last.id) if last else None,
    )


@router.get("/sessions/{session_id}", response_model=SessionOut, operation_id="getSession")
async def get_session(
    session_id: uuid.UUID, user: CurrentUser, uow: Uow, include_messages: bool = False
) -> SessionOut:
    """One session, with all its messages when ``include_messages`` is true."""
    session, messages = await sessions.get_session(
        uow, user, session_id, with_messages=include_messages
    )
    out = SessionOut.model_validate(session)
    if messages is not None:
        out.messages = [MessageOut.model_validate(m) for m in messages]
    return out


@router.patch("/sessions/{session_id}", response_model=SessionOut, operation_id="patchSession")
async def patch_session(
    session_id: uuid.UUID, body: SessionPatch, user: CurrentUser, uow: Uow, settings: Settings
) -> SessionOut:
    """Rename, archive, or change persona or metadata. A name set here is the user's."""
    edit = sessions.SessionEdit(given=frozenset(body.model_fields_set), **body.model_dump())
    return SessionOut.model_validate(
        await sessions.edit_session(uow, settings, user, session_id, edit)
    )


@router.delete("/sessions/{session_id}", status_code=204, operation_id="deleteSession")
async def delete_session(session_id: uuid.UUID, user: CurrentUser, uow: Uow) -> Response:
    """Delete a session; every service erases its data of it (``session.deleted``)."""
    await sessions.delete_session(uow, user, session_id)
    return Response(status_code=204)
