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

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .state import FakeState, Recorded, reply_text, words

_ERROR_STATUS = {404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def _error(api: str, status: int, message: str, retry_after: float | None = None) -> Response:
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
    if api == "gemini":
        body: dict[str, Any] = {
            "error": {"code": status, "message": message, "status": _ERROR_STATUS.get(status, "")}
        }
    elif api == "session":
        body = {"detail": message}
    else:
        body = {"error": {"message": message, "type": "fake_error", "code": str(status)}}
    return JSONResponse(body, status_code=status, headers=headers)


def _sse(events: list[tuple[str | None, Any]], state: FakeState, record: Recorded) -> Response:
    """Stream ``(event name, data)`` pairs as server-sent events; ``ended`` marks the last byte."""

    async def body() -> AsyncIterator[bytes]:
        for i, (name, data) in enumerate(events):
            if i and state.delta_delay_s:
                await asyncio.sleep(state.delta_delay_s)
            payload = data if isinstance(data, str) else json.dumps(data)
            if i == len(events) - 1:
                record.ended = time.time()
            yield (f"event: {name}\n" if name else "").encode() + f"data: {payload}\n\n".encode()

    return StreamingResponse(body(), media_type="text/event-stream")


def build_app(state: FakeState) -> Starlette:
    """The fake upstream as an ASGI app over ``state``."""

    async def begin(request: Request, api: str, action: str) -> tuple[Recorded, Response | None]:
        body = await request.json() if await request.body() else {}
        record = Recorded(api=api, action=action, path=request.url.path, body=body)
        state.requests.append(record)
        if state.delay_s:
            await asyncio.sleep(state.delay_s)
        failure = state.planned_failure(api)
        if failure is not None:
            record.status, record.ended = failure.status, time.time()
            return record, _error(api, failure.status, "planned failure", failure.retry_after)
        return record, None

    def lost(record: Recorded, api: str, upstream_id: str) -> Response:
        record.status, record.ended = 404, time.time()
        return _error(api, 404, f"{upstream_id} not found")

    # --- Gemini Interactions -------------------------------------------------------------
    async def interactions(request: Request) -> Response:
        record, failed = await begin(request, "gemini", "create")
        if failed:
            return failed
        body = record.body
        if body.get("response_format"):
            record.action = "json"
            text = state.next_json(body["response_format"].get("schema", {}))
            record.ended = time.time()
            return JSONResponse(_interaction(state.new_id("int"), text, body))
        previous = body.get("previous_interaction_id")
        given = body.get("input")
        message = given if isinstance(given, str) else given[-1]["content"][0]["text"]
        if previous:
            record.action, record.continued_from = "continue", previous
            if not state.known(previous):
                return lost(record, "gemini", previous)
            root, turns = state.sessions[previous]
        else:
            root, turns = state.new_id("chain"), 0
        head = state.new_id("int")
        state.sessions[head] = (root, turns + 1)
        record.session = root
        text = reply_text("gemini", root, turns + 1, message)
        if not body.get("stream"):
            record.ended = time.time()
            return JSONResponse(_interaction(head, text, body))
        usage = {
            "total_input_tokens": len(message.split()),
            "total_output_tokens": len(text.split()),
        }
        events: list[tuple[str | None, Any]] = [
            (
                "interaction.created",
                {
                    "event_type": "interaction.created",
                    "interaction": {"id": head, "status": "in_progress"},
                },
            )
        ]
        events += [
            (
                "step.delta",
                {"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": piece}},
            )
            for piece in words(text)
        ]
        events.append(
            (
                "interaction.completed",
                {
                    "event_type": "interaction.completed",
                    "interaction": {"id": head, "status": "completed", "usage": usage},
                },
            )
        )
        return _sse(events, state, record)

    # --- OpenAI --------------------------------------------------------------------------
    async def conversations(request: Request) -> Response:
        record, failed = await begin(request, "openai", "conversation")
        if failed:
            return failed
        conversation = state.new_id("conv")
        seeded = len([i for i in record.body.get("items") or [] if i.get("role") == "user"])
        state.sessions[conversation] = (conversation, seeded)
        record.session, record.ended = conversation, time.time()
        return JSONResponse(
            {
                "id": conversation,
                "object": "conversation",
                "created_at": int(time.time()),
                "metadata": {},
            }
        )

    async def responses(request: Request) -> Response:
        record, failed = await begin(request, "openai", "continue")
        if failed:
            return failed
        body = record.body
        if (body.get("text") or {}).get("format", {}).get("type") == "json_schema":
            record.action = "json"
            text = state.next_json(body["text"]["format"].get("schema", {}))
            record.ended = time.time()
            return JSONResponse(_response(state.new_id("resp"), text, body, "completed"))
        conversation = body.get("conversation")
        conversation = conversation.get("id") if isinstance(conversation, dict) else conversation
        message = (
            body.get("input") if isinstance(body.get("input"), str) else str(body.get("input"))
        )
        record.session = record.continued_from = conversation
        if conversation:
            if not state.known(conversation):
                return lost(record, "openai", conversation)
            root, turns = state.sessions[conversation]
            state.sessions[conversation] = (root, turns + 1)
        else:
            record.action, turns = "stateless", 0
        text = reply_text("openai", conversation, turns + 1, message)
        response_id = state.new_id("resp")
        if not body.get("stream"):
            record.ended = time.time()
            return JSONResponse(_response(response_id, text, body, "completed"))
        item = f"msg_{response_id}"
        events: list[tuple[str | None, Any]] = [
            (
                "response.created",
                {
                    "type": "response.created",
                    "sequence_number": 0,
                    "response": _response(response_id, "", body, "in_progress"),
                },
            )
        ]
        for piece in words(text):
            events.append(
                (
                    "response.output_text.delta",
                    {
                        "type": "response.output_text.delta",
                        "sequence_number": len(events),
                        "item_id": item,
                        "output_index": 0,
                        "content_index": 0,
                        "delta": piece,
                        "logprobs": [],
                    },
                )
            )
        events.append(
            (
                "response.completed",
                {
                    "type": "response.completed",
                    "sequence_number": len(events),
                    "response": _response(response_id, text, body, "completed"),
                },
            )
        )
        return _sse(events, state, record)

    async def chat_completions(request: Request) -> Response:
        record, failed = await begin(request, "chat", "stateless")
        if failed:
            return failed
        body = record.body
        completion_id = state.new_id("chatcmpl")
        created, model = int(time.time()), body.get("model", "fake")
        if (body.get("response_format") or {}).get("type") == "json_schema":
            record.action = "json"
            text = state.next_json(body["response_format"]["json_schema"].get("schema", {}))
        else:
            users = [m for m in body.get("messages", []) if m.get("role") == "user"]
            text = reply_text("chat", None, len(users), users[-1]["content"] if users else "")
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": len(text.split()),
            "total_tokens": prompt + len(text.split()),
        }
        base = {"id": completion_id, "created": created, "model": model}
        if not body.get("stream"):
            record.ended = time.time()
            return JSONResponse(
                {
                    **base,
                    "object": "chat.completion",
                    "usage": usage,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": text},
                        }
                    ],
                }
            )
        chunk = {**base, "object": "chat.completion.chunk"}
        events: list[tuple[str | None, Any]] = [
            (
                None,
                {
                    **chunk,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": None,
                            "delta": {"role": "assistant", "content": piece},
                        }
                    ],
                },
            )
            for piece in words(text)
        ]
        events.append(
            (None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        )
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append((None, {**chunk, "choices": [], "usage": usage}))
        events.append((None, "[DONE]"))
        return _sse(events, state, record)

    # --- session-http --------------------------------------------------------------------
    async def scenario(request: Request) -> Response:
        record, failed = await begin(request, "session", "create")
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

    async def chat(request: Request) -> Response:
        record, failed = await begin(request, "session", "continue")
        if failed:
            return failed
        session = str(record.body.get("session_id", ""))
        record.session = record.continued_from = session
        if not state.known(session):
            return lost(record, "session", session)
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
        Route("/v1/interactions", interactions, methods=["POST"]),
        Route("/v1beta/interactions", interactions, methods=["POST"]),
        Route("/v1/conversations", conversations, methods=["POST"]),
        Route("/v1/responses", responses, methods=["POST"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/session/scenario", scenario, methods=["POST"]),
        Route("/session/chat", chat, methods=["POST"]),
        Route("/_fake/requests", list_requests, methods=["GET"]),
        Route("/_fake/{action}", control, methods=["POST"]),
    ]
    return Starlette(routes=routes)


def _interaction(interaction_id: str, text: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": interaction_id,
        "status": "completed",
        "model": body.get("model"),
        "steps": [{"type": "model_output", "content": [{"type": "text", "text": text}]}],
        "usage": {"total_input_tokens": 1, "total_output_tokens": len(text.split())},
    }


def _response(response_id: str, text: str, body: dict[str, Any], status: str) -> dict[str, Any]:
    output = (
        []
        if not text
        else [
            {
                "type": "message",
                "id": f"msg_{response_id}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ]
    )
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": body.get("model", "fake"),
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": len(str(body.get("input", "")).split()),
            "output_tokens": len(text.split()),
            "total_tokens": len(str(body.get("input", "")).split()) + len(text.split()),
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    }
