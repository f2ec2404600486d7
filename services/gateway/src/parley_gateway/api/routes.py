"""The gateway's routes (see the HTTP API table of the design).

Every ``/api`` route but the dev token route needs a bearer token; a session that is not the
caller's is answered 404, exactly like one that does not exist.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Header, Query, Request, Response
from nats.errors import NoRespondersError
from parley_contracts import (
    MessageCreated,
    SessionCreated,
    SessionDeleted,
    SessionRenamed,
    TraceCursor,
    TracePage,
    TraceQuery,
)
from parley_runtime import Service
from sse_starlette import EventSourceResponse

from ..adapters import store
from ..adapters.notifications import ReplyWaiters, SessionFeed, notify_session_event
from ..domain.idempotency import fingerprint
from ..domain.sessions import RuleViolation, check_content, check_name
from ..settings import GatewaySettings
from .auth import CurrentUser, issue_token
from .problems import (
    BadCursor,
    IdempotencyKeyReused,
    InvalidInput,
    OwnerUnavailable,
    RouteDisabled,
    SessionNotFound,
)
from .schemas import (
    MessageCreate,
    MessageOut,
    MessagePage,
    PostedMessage,
    SessionCreate,
    SessionOut,
    SessionPage,
    SessionPatch,
    Text,
    TokenRequest,
    TokenResponse,
    TraceList,
)

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api")

#: The largest ``seq`` a message can have (the column is a 32-bit ``integer``).
MAX_SEQ = 2**31 - 1

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def _service(request: Request) -> Service:
    return request.app.state.service


def _settings(request: Request) -> GatewaySettings:
    return request.app.state.settings


def _waiters(request: Request) -> ReplyWaiters:
    return request.app.state.notifications.waiters


def _feed(request: Request) -> SessionFeed:
    return request.app.state.notifications.feed


def _encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    """An opaque keyset cursor: base64url of ``[at, id]``."""
    raw = json.dumps([at.isoformat(), str(row_id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, sid = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(at), uuid.UUID(sid)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadCursor("the cursor was not issued by this API") from exc


def _check_metadata(metadata: dict[str, Any] | None, settings: GatewaySettings) -> None:
    if metadata is None:
        return
    if len(json.dumps(metadata)) > settings.max_metadata_bytes:
        raise InvalidInput(f"metadata is larger than {settings.max_metadata_bytes} bytes")


def _check(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except RuleViolation as exc:
        raise InvalidInput(str(exc)) from exc


@router.post("/auth/token", response_model=TokenResponse, tags=["auth"])
async def create_token(body: TokenRequest, request: Request) -> TokenResponse:
    """Dev auth mode: issue a signed token for ``user_id``. 404 in jwt mode."""
    settings = _settings(request)
    if settings.auth_mode != "dev":
        raise RouteDisabled("tokens are issued by the identity provider in jwt mode")
    token, expires_in = issue_token(settings, body.user_id)
    return TokenResponse(access_token=token, expires_in=expires_in)


@router.post("/sessions", status_code=201, response_model=SessionOut, tags=["sessions"])
async def create_session(
    body: SessionCreate,
    user: CurrentUser,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> SessionOut:
    """Create a session; a name given here is the user's (``name_source`` "user")."""
    settings, service = _settings(request), _service(request)
    _check_metadata(body.metadata, settings)
    name = _check(check_name, body.name, settings.max_name_chars) if body.name else None
    session_id = uuid.uuid4()
    async with service.unit_of_work() as uow:
        if idempotency_key:
            request_fingerprint = fingerprint(
                "POST", request.url.path, body.model_dump(mode="json")
            )
            earlier = await store.claim_idempotency_key(
                uow.conn,
                user,
                idempotency_key,
                "session",
                session_id,
                request_fingerprint,
                settings.idempotency_ttl_s,
            )
            if earlier is not None:
                if not earlier.matches("session", request_fingerprint):
                    raise IdempotencyKeyReused("this key was used for another request")
                existing = await store.get_session(uow.conn, earlier.resource_id, user)
                if existing is None:
                    raise SessionNotFound()
                response.status_code = 200
                return SessionOut.model_validate(existing)
        session = await store.insert_session(
            uow.conn,
            session_id=session_id,
            user_id=user,
            name=name or settings.default_session_name,
            name_source="user" if name else "default",
            persona=body.persona,
            model=body.model or settings.default_model,
            metadata=body.metadata,
            analytics_opt_out=body.analytics_opt_out,
        )
        await uow.publish(
            SessionCreated(
                session_id=session_id,
                user_id=user,
                name=session["name"],
                name_source=session["name_source"],
                model=session["model"],
                persona=session["persona"],
                analytics_opt_out=session["analytics_opt_out"],
            )
        )
        await notify_session_event(
            uow.conn,
            user_id=user,
            session_id=session_id,
            kind="session.created",
            name=session["name"],
        )
    log.info("session created", session_id=str(session_id), user_id=user)
    return SessionOut.model_validate(session)


@router.get("/sessions", response_model=SessionPage, tags=["sessions"])
async def list_sessions(
    user: CurrentUser,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    include_archived: bool = False,
    q: Annotated[Text | None, Query(max_length=200)] = None,
) -> SessionPage:
    """The caller's sessions, newest activity first, ``limit`` per page."""
    after = _decode_cursor(cursor) if cursor else None
    rows = await store.list_sessions(
        _service(request).pool,
        user,
        limit=limit + 1,
        after=after,
        include_archived=include_archived,
        query=q,
    )
    page, more = rows[:limit], len(rows) > limit
    return SessionPage(
        items=[SessionOut.model_validate(r) for r in page],
        next_cursor=_encode_cursor(page[-1]["activity_at"], page[-1]["id"]) if more else None,
    )


@router.get("/sessions/{session_id}", response_model=SessionOut, tags=["sessions"])
async def get_session(
    session_id: uuid.UUID, user: CurrentUser, request: Request, include_messages: bool = False
) -> SessionOut:
    """One session, with all its messages when ``include_messages`` is true."""
    pool = _service(request).pool
    session = await store.get_session(pool, session_id, user)
    if session is None:
        raise SessionNotFound()
    if include_messages:
        session["messages"] = await store.list_messages(pool, session_id)
    return SessionOut.model_validate(session)


@router.patch("/sessions/{session_id}", response_model=SessionOut, tags=["sessions"])
async def patch_session(
    session_id: uuid.UUID, body: SessionPatch, user: CurrentUser, request: Request
) -> SessionOut:
    """Rename, archive, or change persona or metadata. A name set here is the user's."""
    settings, service = _settings(request), _service(request)
    _check_metadata(body.metadata, settings)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if changes.get("is_archived") is None:
        changes.pop("is_archived", None)
    if "name" in changes:
        if changes["name"] is None:
            raise InvalidInput("name cannot be null")
        changes["name"] = _check(check_name, changes["name"], settings.max_name_chars)
        changes["name_source"] = "user"
    if "metadata" in changes and changes["metadata"] is None:
        changes["metadata"] = {}
    async with service.unit_of_work() as uow:
        session = await store.get_session(uow.conn, session_id, user, for_update=True)
        if session is None:
            raise SessionNotFound()
        if not changes:
            return SessionOut.model_validate(session)
        session = await store.update_session(uow.conn, session_id, changes)
        if "name" in changes:
            await uow.publish(
                SessionRenamed(session_id=session_id, user_id=user, name=changes["name"])
            )
        await notify_session_event(
            uow.conn,
            user_id=user,
            session_id=session_id,
            kind="session.updated",
            name=session["name"],
            name_source=session["name_source"],
            is_archived=session["is_archived"],
        )
    return SessionOut.model_validate(session)


@router.delete("/sessions/{session_id}", status_code=204, tags=["sessions"])
async def delete_session(session_id: uuid.UUID, user: CurrentUser, request: Request) -> Response:
    """Delete a session; every service erases its data of it (``session.deleted``)."""
    async with _service(request).unit_of_work() as uow:
        session = await store.get_session(uow.conn, session_id, user, for_update=True)
        if session is None:
            raise SessionNotFound()
        await store.delete_session(uow.conn, session_id)
        await uow.publish(SessionDeleted(session_id=session_id, user_id=user))
        await notify_session_event(
            uow.conn, user_id=user, session_id=session_id, kind="session.deleted"
        )
    log.info("session deleted", session_id=str(session_id))
    return Response(status_code=204)


@router.get(
    "/events",
    tags=["sessions"],
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE"}},
)
async def session_events(user: CurrentUser, request: Request) -> EventSourceResponse:
    """SSE of the caller's session changes, from now on: ``session.created``,
    ``session.updated`` (counts, name, archive), ``session.named``, ``session.tagged``,
    ``session.deleted``; ``resync`` when events were dropped for a slow reader."""
    feed = _feed(request)
    queue = feed.subscribe(user)

    async def stream() -> AsyncIterator[dict[str, str]]:
        try:
            yield {"event": "ready", "data": "{}"}
            while True:
                event = await queue.get()
                yield _sse(event.pop("event"), event)
        finally:
            feed.unsubscribe(user, queue)

    return EventSourceResponse(stream(), ping=15)


@router.get("/traces", response_model=TraceList, tags=["traces"])
async def list_traces(
    user: CurrentUser,
    request: Request,
    session_tag: Annotated[Text | None, Query(max_length=100)] = None,
    session_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TraceList:
    """The caller's LLM traces, newest first, by session tag and/or session, ``limit`` per page.
    Asked of the tagger, which owns them (NATS request/reply); 503 if it does not answer."""
    service = _service(request)
    after = _decode_cursor(cursor) if cursor else None
    query = TraceQuery(
        user_id=user,
        session_tag=session_tag,
        session_id=session_id,
        cursor=TraceCursor(created_at=after[0], id=after[1]) if after else None,
        limit=limit,
    )
    try:
        answer = await service.broker.request(
            query.model_dump(mode="json"),
            service.subjects.query("tagger", "traces"),
            timeout=_settings(request).query_timeout_s,
        )
    except (TimeoutError, NoRespondersError) as exc:
        raise OwnerUnavailable("the tagger did not answer; try again shortly") from exc
    page = TracePage.model_validate_json(answer.body)
    last = page.next_cursor
    return TraceList(
        items=page.items, next_cursor=_encode_cursor(last.created_at, last.id) if last else None
    )


@router.get("/sessions/{session_id}/messages", response_model=MessagePage, tags=["messages"])
async def list_messages(
    session_id: uuid.UUID,
    user: CurrentUser,
    request: Request,
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> MessagePage:
    """Messages of a session in order, after ``after_seq``."""
    pool = _service(request).pool
    if await store.get_session(pool, session_id, user) is None:
        raise SessionNotFound()
    rows = await store.list_messages(pool, session_id, after_seq=after_seq, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    return MessagePage(
        items=[MessageOut.model_validate(r) for r in page],
        next_after_seq=page[-1]["seq"] if more else None,
    )


@router.post(
    "/sessions/{session_id}/messages",
    status_code=201,
    response_model=PostedMessage,
    tags=["messages"],
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE when asked"}},
)
async def post_message(
    session_id: uuid.UUID,
    body: MessageCreate,
    user: CurrentUser,
    request: Request,
    response: Response,
    wait: Annotated[float, Query(ge=0, le=300)] = 0,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Post a user message. JSON: waits up to ``wait`` seconds for the reply (null if not ready).

    With ``Accept: text/event-stream``: SSE events ``message``, ``delta``..., then ``reply`` or
    ``error``.
    """
    settings, service, waiters = _settings(request), _service(request), _waiters(request)
    content = _check(check_content, body.content, settings.max_content_chars)
    wants_stream = "text/event-stream" in request.headers.get("accept", "")
    message_id = uuid.uuid4()
    waiter = waiters.expect(message_id)
    live: LiveDeltas | None = None
    try:
        if wants_stream:
            live = await LiveDeltas().subscribe(service, session_id)
        message, created = await _store_message(
            service,
            user,
            session_id,
            message_id,
            content,
            idempotency_key,
            settings.idempotency_ttl_s,
        )
    except BaseException:
        waiters.forget(message_id, waiter)
        if live is not None:
            await live.unsubscribe()
        raise
    if not created:
        waiters.forget(message_id, waiter)
        waiter = waiters.expect(message["id"])
        message_id = message["id"]
    if wants_stream:
        return EventSourceResponse(
            _stream_reply(service, waiters, waiter, live, message, settings.stream_timeout_s),
            ping=15,
        )
    try:
        message, reply = await _await_reply(
            service, waiter, message, min(wait, settings.max_wait_s)
        )
    finally:
        waiters.forget(message_id, waiter)
    if not created:
        response.status_code = 200
    return PostedMessage(
        message=MessageOut.model_validate(message),
        reply=MessageOut.model_validate(reply) if reply else None,
    )


#: How often a waiting request re-reads the database, in seconds: the notification normally wakes
#: it at once; the re-read covers a notification lost with its connection.
RECHECK_S = 1.0


async def _settled(
    service: Service, message: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The message as stored now, and its reply if stored. The message is read after the reply:
    both are committed together, so a message read with its reply is never still ``pending``."""
    reply = await store.get_reply(service.pool, message["id"])
    message = await store.get_message(service.pool, message["id"]) or message
    return message, reply


async def _await_reply(
    service: Service, waiter: asyncio.Future[None], message: dict[str, Any], wait_s: float
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Wait up to ``wait_s`` seconds for the reply (or failure) of ``message``."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        message, reply = await _settled(service, message)
        remaining = deadline - asyncio.get_running_loop().time()
        if reply is not None or message["status"] == "failed" or remaining <= 0:
            return message, reply
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiter), timeout=min(remaining, RECHECK_S))


async def _store_message(
    service: Service,
    user: str,
    session_id: uuid.UUID,
    message_id: uuid.UUID,
    content: str,
    idempotency_key: str | None,
    ttl_s: float,
) -> tuple[dict[str, Any], bool]:
    """Store the user message and its ``message.created`` event; returns (message, created).

    A retry with an ``idempotency_key`` used within ``ttl_s`` seconds returns the first message.
    """
    async with service.unit_of_work() as uow:
        session = await store.get_session(uow.conn, session_id, user, for_update=True)
        if session is None:
            raise SessionNotFound()
        if idempotency_key:
            request_fingerprint = fingerprint(
                "POST", f"/api/sessions/{session_id}/messages", {"content": content}
            )
            earlier = await store.claim_idempotency_key(
                uow.conn, user, idempotency_key, "message", message_id, request_fingerprint, ttl_s
            )
            if earlier is not None:
                existing = await store.get_message(uow.conn, earlier.resource_id)
                if (
                    not earlier.matches("message", request_fingerprint)
                    or existing is None
                    or existing["session_id"] != session_id
                ):
                    raise IdempotencyKeyReused("this key was used for another request")
                return existing, False
        message = await store.append_message(
            uow.conn, session, message_id=message_id, role="user", content=content, status="pending"
        )
        await uow.publish(
            MessageCreated(
                session_id=session_id,
                user_id=user,
                correlation_id=message_id,
                message_id=message_id,
                seq=message["seq"],
                turn=session["user_turns"] + 1,
                content=content,
                model=session["model"],
                persona=session["persona"],
            )
        )
        await notify_session_event(
            uow.conn,
            user_id=user,
            session_id=session_id,
            kind="session.updated",
            message_count=session["message_count"] + 1,
            last_message_at=message["created_at"].isoformat(),
        )
    log.info(
        "message accepted",
        session_id=str(session_id),
        message_id=str(message_id),
        seq=message["seq"],
    )
    return message, True


class LiveDeltas:
    """The live reply deltas of one session (core NATS, a view, not a record), queued as they
    come: reading the queue can be cancelled without losing a delta."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(10_000)
        self._subscription: Any = None

    async def subscribe(self, service: Service, session_id: uuid.UUID) -> LiveDeltas:
        """Start receiving the session's deltas."""

        async def on_delta(msg: Any) -> None:
            with contextlib.suppress(asyncio.QueueFull, ValueError):
                self.queue.put_nowait(json.loads(msg.data))

        self._subscription = await service.broker.connection.subscribe(
            service.subjects.live_reply(session_id), cb=on_delta
        )
        return self

    async def unsubscribe(self) -> None:
        """Stop receiving deltas."""
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
            self._subscription = None


def _sse(event: str, data: Any) -> dict[str, str]:
    return {"event": event, "data": json.dumps(data, default=str)}


async def _stream_reply(
    service: Service,
    waiters: ReplyWaiters,
    waiter: asyncio.Future[None],
    live: LiveDeltas,
    message: dict[str, Any],
    timeout_s: float,
) -> AsyncIterator[dict[str, str]]:
    """SSE: the stored message, the live deltas of its reply, then the stored reply or error."""
    message_id = message["id"]

    def delta_event(delta: dict[str, Any]) -> dict[str, str] | None:
        if delta.get("reply_to") != str(message_id):
            return None
        return _sse("delta", {"index": delta.get("index"), "text": delta.get("text")})

    next_delta: asyncio.Future[dict[str, Any]] | None = None
    try:
        yield _sse("message", MessageOut.model_validate(message).model_dump(mode="json"))
        if message["status"] != "pending" or await store.get_reply(service.pool, message_id):
            waiter.cancel()  # a retried request whose reply (or failure) is already stored
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not waiter.done():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            if next_delta is None:
                next_delta = asyncio.ensure_future(live.queue.get())
            done, _ = await asyncio.wait(
                {next_delta, waiter},
                timeout=min(remaining, RECHECK_S),
                return_when=asyncio.FIRST_COMPLETED,
            )
            if next_delta in done:
                event = delta_event(next_delta.result())
                next_delta = None
                if event is not None:
                    yield event
            elif not done:  # nothing for a while: make sure no notification was missed
                stored, reply = await _settled(service, message)
                if reply is not None or stored["status"] == "failed":
                    break
        if next_delta is not None and next_delta.done() and not next_delta.cancelled():
            event = delta_event(next_delta.result())
            next_delta = None
            if event is not None:
                yield event
        while not live.queue.empty():  # deltas that came before the reply was stored
            event = delta_event(live.queue.get_nowait())
            if event is not None:
                yield event
        reply = await store.get_reply(service.pool, message_id)
        if reply is not None:
            yield _sse("reply", MessageOut.model_validate(reply).model_dump(mode="json"))
            return
        stored = await store.get_message(service.pool, message_id)
        if stored is not None and stored["status"] == "failed":
            detail = stored["error"] or "the upstream AI could not answer"
        else:
            detail = f"no reply within {timeout_s:.0f} s; it will still be stored when it comes"
        yield _sse(
            "error",
            {
                "type": "about:blank",
                "title": "Reply not available",
                "status": 504 if stored and stored["status"] == "pending" else 502,
                "detail": detail,
            },
        )
    finally:
        if next_delta is not None:
            next_delta.cancel()
        waiters.forget(message_id, waiter)
        await live.unsubscribe()
