"""The fake upstream's HTTP routes: enough of four wire formats for the real clients.

- Gemini Interactions: ``POST /v1/interactions`` (also ``/v1beta/``), JSON or SSE
  (``interaction.created``, ``step.delta``..., ``interaction.completed``);
- OpenAI: ``POST /v1/conversations``, ``POST /v1/responses`` JSON or SSE
  (``response.created``, ``response.output_text.delta``..., ``response.completed``),
  ``POST /v1/chat/completions`` JSON or SSE chunks ending ``data: [DONE]``;
- session-http: ``POST /session/scenario``, ``POST /session/chat``;
- control: ``GET /_fake/requests``, ``POST /_fake/fail {status, count, retry_after, api}``,
  ``POST /_fake/lose {upstream_id?}``,
  ``POST /_fake/json {answers: [raw text, ...]}`` (the next structured-output answers),
  ``POST /_fake/delay {delay_s, delta_delay_s}``,
  ``POST /_fake/reset``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .gemini import Gemini
from .openai_apis import OpenAI
from .session_http import SessionHttp
from .state import FakeState


def build_app(state: FakeState) -> Starlette:
    """The fake upstream as an ASGI app over ``state``."""
    gemini, openai, session = Gemini(state), OpenAI(state), SessionHttp(state)

    # --- control -------------------------------------------------------------------------
    async def list_requests(request: Request) -> Response:
        return JSONResponse(state.as_json())

    async def control(request: Request) -> Response:
        body = await request.json() if await request.body() else {}
        action = request.path_params["action"]
        if action == "fail":
            state.fail(
                int(body["status"]),
                count=int(body.get("count", 1)),
                retry_after=body.get("retry_after"),
                api=body.get("api"),
            )
        elif action == "lose":
            state.lose(body.get("upstream_id"))
        elif action == "delay":
            state.delay_s = float(body.get("delay_s", 0))
            state.delta_delay_s = float(body.get("delta_delay_s", 0))
        elif action == "json":
            state.answer_json(*[str(text) for text in body.get("answers", [])])
        elif action == "reset":
            state.reset()
        else:
            return JSONResponse({"detail": f"unknown action {action}"}, status_code=404)
        return JSONResponse({"ok": True})

    routes = [
        Route("/v1/interactions", gemini.interactions, methods=["POST"]),
        Route("/v1beta/interactions", gemini.interactions, methods=["POST"]),
        Route("/v1/conversations", openai.conversations, methods=["POST"]),
        Route("/v1/responses", openai.responses, methods=["POST"]),
        Route("/v1/chat/completions", openai.chat_completions, methods=["POST"]),
        Route("/session/scenario", session.scenario, methods=["POST"]),
        Route("/session/chat", session.chat, methods=["POST"]),
        Route("/_fake/requests", list_requests, methods=["GET"]),
        Route("/_fake/{action}", control, methods=["POST"]),
    ]
    return Starlette(routes=routes)
