"""The fake upstream's generic session server: ``POST /session/scenario`` opens a session with
the first message, ``POST /session/chat`` continues it (404 for a session it does not know)."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .state import reply_text
from .wire import Exchange


class SessionHttp(Exchange):
    """Scenario then chat on a session id."""

    async def scenario(self, request: Request) -> Response:
        """Open a session and answer its first message."""
        state = self.state
        record, failed = await self.begin(request, "session", "create")
        if failed:
            return failed
        session = state.new_id("sess")
        state.sessions[session] = (session, 1)
        record.session = session
        message = record.body.get("message", "")
        text = reply_text("session", session, 1, message)
        record.ended = time.time()
        return JSONResponse(
            {
                "session_id": session,
                "id": state.new_id("reply"),
                "reply": text,
                "usage": {"input_tokens": len(message.split()), "output_tokens": len(text.split())},
            }
        )

    async def chat(self, request: Request) -> Response:
        """Answer a message on a known session."""
        state = self.state
        record, failed = await self.begin(request, "session", "continue")
        if failed:
            return failed
        session = str(record.body.get("session_id", ""))
        record.session = record.continued_from = session
        if not state.known(session):
            return self.lost(record, "session", session)
        root, turns = state.sessions[session]
        state.sessions[session] = (root, turns + 1)
        message = record.body.get("message", "")
        text = reply_text("session", session, turns + 1, message)
        record.ended = time.time()
        return JSONResponse(
            {
                "id": state.new_id("reply"),
                "reply": text,
                "usage": {"input_tokens": len(message.split()), "output_tokens": len(text.split())},
            }
        )
