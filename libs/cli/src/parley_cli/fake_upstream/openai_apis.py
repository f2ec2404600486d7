"""The fake upstream's OpenAI APIs: ``POST /v1/conversations``, ``POST /v1/responses`` JSON or
SSE (``response.created``, ``response.output_text.delta``..., ``response.completed``), and
``POST /v1/chat/completions`` JSON or SSE chunks ending ``data: [DONE]``."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .state import reply_text, words
from .wire import Exchange, sse


class OpenAI(Exchange):
    """Conversations with responses on them, and stateless chat completions."""

    async def conversations(self, request: Request) -> Response:
        """A new conversation, seeded with the items it is given."""
        state = self.state
        record, failed = await self.begin(request, "openai", "conversation")
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

    async def responses(self, request: Request) -> Response:
        """A response on a conversation (or stateless), or structured output."""
        state = self.state
        record, failed = await self.begin(request, "openai", "continue")
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
                return self.lost(record, "openai", conversation)
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
        return sse(events, state, record)

    async def chat_completions(self, request: Request) -> Response:
        """A chat completion over the whole transcript it is sent."""
        state = self.state
        record, failed = await self.begin(request, "chat", "stateless")
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
        return sse(events, state, record)


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
