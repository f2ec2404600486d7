"""OpenAI through the ``openai`` client's Responses API on a Conversation.

The upstream session is a Conversation: ``conversations.create`` once (seeded with the transcript
when a lost session is rebuilt), then ``responses.create(conversation=..., stream=True)`` for every
turn, the persona as ``instructions`` each time. ``max_retries=0``: :mod:`parley_providers.retry`
decides.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from .base import (
    Completion,
    Delta,
    DeltaSink,
    ErrorKind,
    JsonFromStructured,
    ProviderError,
    StructuredAnswer,
    Turn,
    Usage,
    classify_sdk_error,
)
from .catalogue import ModelSpec
from .gemini import parse_json_object


class OpenAIProvider(JsonFromStructured):
    """An OpenAI model (``spec.upstream_model``) on the Responses API."""

    name = "openai"
    stateful = True

    def __init__(self, spec: ModelSpec, api_key: str | None) -> None:
        from openai import AsyncOpenAI

        self.spec = spec
        self._client = AsyncOpenAI(
            api_key=api_key or "unset",
            base_url=spec.base_url,
            timeout=spec.timeout_s,
            max_retries=0,
        )

    async def open_session(self, *, system: str | None, history: Sequence[Turn]) -> str | None:
        """A new Conversation holding ``history``; its id."""
        items = [{"type": "message", "role": t.role, "content": t.content} for t in history]
        try:
            conversation = await self._client.conversations.create(items=items or None)  # type: ignore[arg-type]
        except Exception as exc:
            raise classify_sdk_error(exc) from exc
        return conversation.id

    async def stream(
        self,
        *,
        session_id: str | None,
        system: str | None,
        user: str,
        history: Sequence[Turn],
        on_delta: DeltaSink,
    ) -> Completion:
        """One response in Conversation ``session_id``, streamed."""
        if session_id is None:
            session_id = await self.open_session(system=system, history=history)
        kwargs: dict[str, Any] = {
            "model": self.spec.upstream_model,
            "conversation": session_id,
            "input": user,
            "stream": True,
        }
        if system:
            kwargs["instructions"] = system
        parts: list[str] = []
        final: Any = None
        try:
            events = await self._client.responses.create(**kwargs)
            async for event in events:
                if event.type == "response.output_text.delta":
                    await on_delta(Delta(len(parts), event.delta))
                    parts.append(event.delta)
                elif event.type in ("response.completed", "response.incomplete"):
                    final = event.response
                elif event.type in ("response.failed", "error"):
                    raise ProviderError(f"stream error: {event}", kind=ErrorKind.UNAVAILABLE)
        except ProviderError:
            raise
        except Exception as exc:
            raise classify_sdk_error(exc, session_call=True) from exc
        if final is None:
            raise ProviderError("the stream ended without a response", kind=ErrorKind.UNAVAILABLE)
        usage = Usage(
            getattr(final.usage, "input_tokens", None), getattr(final.usage, "output_tokens", None)
        )
        return Completion(
            "".join(parts) or (final.output_text or ""),
            session_id=session_id,
            response_id=final.id,
            finish_reason=final.status,
            usage=usage,
            last_byte_at=time.time(),
        )

    async def generate_structured(
        self, *, system: str, user: str, json_schema: dict[str, Any], schema_name: str
    ) -> StructuredAnswer:
        """:meth:`generate_json` with the response's usage and raw text."""
        try:
            response = await self._client.responses.create(
                model=self.spec.upstream_model,
                instructions=system,
                input=user,
                store=False,
                text={
                    "format": {
                        "type": "json_schema",
                        "name": schema_name,
                        "schema": json_schema,
                        "strict": True,
                    }
                },
            )
        except Exception as exc:
            raise classify_sdk_error(exc) from exc
        usage = Usage(
            getattr(response.usage, "input_tokens", None),
            getattr(response.usage, "output_tokens", None),
        )
        text = response.output_text
        return StructuredAnswer(parse_json_object(text), usage, text)
