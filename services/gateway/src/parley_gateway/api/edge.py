"""The HTTP edge of the gateway: what every request passes before and after its route.

* :class:`BodyLimit` refuses a request body over ``max_bytes`` before anything parses it: a
  declared ``Content-Length`` over the limit at once, a chunked body as soon as the bytes read
  pass it (413 problem). The accepted body is replayed to the app, so it is read once.
* :class:`ErrorBoundary` turns any exception a route lets through into a 500 problem with a
  ``correlation_id`` (also in the ``X-Correlation-Id`` header), logged as one bounded line
  (type, message cut to :data:`MAX_LOGGED_CHARS`, the innermost frame), never a traceback with
  local variables: an error costs milliseconds and never stalls the other requests.

Both are plain ASGI middlewares (https://asgi.readthedocs.io/en/latest/specs/www.html).
"""

from __future__ import annotations

import json
import traceback
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog

log = structlog.get_logger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The longest exception message an unexpected error puts in the log, in characters.
MAX_LOGGED_CHARS = 500
PROBLEM_JSON = b"application/problem+json"


async def send_problem(send: Send, status: int, title: str, detail: str, **extra: Any) -> None:
    """Send a complete RFC 9457 problem response (``application/problem+json``)."""
    body = json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    ).encode()
    headers = [(b"content-type", PROBLEM_JSON), (b"content-length", str(len(body)).encode())]
    if "correlation_id" in extra:
        headers.append((b"x-correlation-id", str(extra["correlation_id"]).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` bytes with a 413 problem, before parsing.

    Args:
        app: the wrapped ASGI app.
        max_bytes: the largest accepted body, in bytes (``PARLEY_MAX_BODY_BYTES``).
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry: pass the request on, answering a 500 problem for anything it raises."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        first: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left: let the app see it
                first = message
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                if first is not None:
                    return first
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        await send_problem(
            send,
            413,
            "Request body too large",
            f"the request body is larger than {self.max_bytes} bytes",
        )


class ErrorBoundary:
    """Answer any exception a route lets through with a 500 problem carrying a correlation id,
    logged in one bounded line; a response already started is closed instead."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry: pass the request on, refusing a body over the limit with a 413 problem."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            correlation_id = str(uuid.uuid4())
            log_unexpected(exc, correlation_id=correlation_id, path=scope.get("path", ""))
            if not started:
                await send_problem(
                    send,
                    500,
                    "Internal server error",
                    "an unexpected error occurred; quote the correlation id when reporting it",
                    correlation_id=correlation_id,
                )


def log_unexpected(exc: BaseException, **fields: Any) -> None:
    """Log ``exc`` as one line: its type, its message cut to :data:`MAX_LOGGED_CHARS`
    characters, and the innermost frame (``file:line in function``); no traceback, no locals."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
    log.error(
        "unexpected error",
        error_type=type(exc).__name__,
        error=str(exc)[:MAX_LOGGED_CHARS],
        where=where,
        **fields,
    )
