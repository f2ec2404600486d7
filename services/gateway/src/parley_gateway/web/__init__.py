"""The web UI: static ES modules and CSS served by the gateway at ``/``, talking only to the
public HTTP API (``/api/...``) like any other client.

``mount_ui(app)`` adds two things to a FastAPI app: ``GET /`` (the page) and ``/ui/`` (its
scripts and styles). Every answer carries a strict Content-Security-Policy: scripts and styles
from this origin only, ``fetch`` to this origin only, no inline code, framed by this origin only.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

STATIC = Path(__file__).parent / "static"

#: The UI's Content-Security-Policy (W3C CSP Level 3): nothing but this origin, no inline code.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class _UiFiles(StaticFiles):
    """Static files with the UI's security headers on every answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: dict) -> None:  # type: ignore[type-arg]
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


def mount_ui(app: FastAPI) -> None:
    """Serve the UI on ``app``: the page at ``/``, its files under ``/ui/``."""

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=SECURITY_HEADERS)

    app.mount("/ui", _UiFiles(directory=STATIC), name="ui")
