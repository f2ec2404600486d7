"""OpenAI-compatible servers (vLLM, Ollama, llama.cpp) through the ``openai`` client's chat
completions at the model's ``base_url``.

Stateless: every call carries the whole transcript. ``max_retries=0``:
:mod:`parley_providers.retry` decides.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from .base import (
    Completion,
    Delta,
    DeltaSink,
    JsonFromStructured,
    StructuredAnswer,
    Turn,
    Usage,
    classify_sdk_error,
)
from .catalogue import ModelSpec
from .gemini import parse_json_object


def chat_messages(system: str | None, history: Sequence[Turn], user: str) -> list[dict[str, str]]:
    """The ``messages`` of a chat completion: system, the transcript, then ``user``."""
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": t.role, "content": t.content} for t in history]
    return [*messages, {"role": "user", "content": user}]


class OpenAICompatibleProvider(JsonFromStructured):
    """A model served by an OpenAI-compatible chat completions endpoint."""

    name = "openai-compatible"
    stateful = False

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
        """None: the server keeps no session."""
        return None

    async def stream(
        self,
        *,
        session_id: str | None,
        system: str | None,
        user: str,
        history: Sequence[Turn],
        on_delta: DeltaSink,
    ) -> Completion:
        """One streamed chat completion over the transcript."""
        parts: list[str] = []
        finish = response_id = None
        usage = Usage()
        try:
            chunks = await self._client.chat.completions.create(
                model=self.spec.upstream_model,
                messages=chat_messages(system, history, user),  # type: ignore[arg-type]
                stream=True,
                stream_options={"include_usage": True},
            )
            async for chunk in chunks:
                response_id = chunk.id or response_id
                if chunk.usage is not None:
                    usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        await on_delta(Delta(len(parts), choice.delta.content))
                        parts.append(choice.delta.content)
                    finish = choice.finish_reason or finish
        except Exception as exc:
            raise classify_sdk_error(exc) from exc
        return Completion(
            "".join(parts),
            session_id=None,
            response_id=response_id,
            finish_reason=finish,
            usage=usage,
            last_byte_at=time.time(),
        )

    async def generate_structured(
        self, *, system: str, user: str, json_schema: dict[str, Any], schema_name: str
    ) -> StructuredAnswer:
        """:meth:`generate_json` with the completion's usage and raw text."""
        try:
            completion = await self._client.chat.completions.create(
                model=self.spec.upstream_model,
                messages=chat_messages(system, [], user),  # type: ignore[arg-type]
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": schema_name, "schema": json_schema, "strict": True},
                },
            )
        except Exception as exc:
            raise classify_sdk_error(exc) from exc
        used = completion.usage
        usage = Usage(
            getattr(used, "prompt_tokens", None), getattr(used, "completion_tokens", None)
        )
        text = completion.choices[0].message.content or ""
        return StructuredAnswer(parse_json_object(text), usage, text)
