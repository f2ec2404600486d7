"""The fake upstream's Gemini Interactions API: ``POST /v1/interactions`` (also ``/v1beta/``),
JSON or SSE (``interaction.created``, ``step.delta``..., ``interaction.completed``); a chain of
interactions is one upstream session (``previous_interaction_id``)."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .state import reply_text, words
from .wire import Exchange, sse


class Gemini(Exchange):
    """Interactions: created, continued from their previous id, or structured output."""

    async def interactions(self, request: Request) -> Response:
        """One interaction, new or continuing a chain."""
        state = self.state
        record, failed = await self.begin(request, "gemini", "create")
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
                return self.lost(record, "gemini", previous)
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
        return sse(events, state, record)


def _interaction(interaction_id: str, text: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": interaction_id,
        "status": "completed",
        "model": body.get("model"),
        "steps": [{"type": "model_output", "content": [{"type": "text", "text": text}]}],
        "usage": {"total_input_tokens": 1, "total_output_tokens": len(text.split())},
    }
