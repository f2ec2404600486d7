"""Gemini through ``google-genai``'s Interactions API.

The upstream session is the chain of interactions: each turn creates an interaction with
``previous_interaction_id`` = the chain's head, and the new interaction's id becomes the head.
The persona goes as ``system_instruction`` on every turn (the API does not keep it). The SDK's own
retries are off (one attempt): :mod:`parley_providers.retry` decides.
"""

from __future__ import annotations

import json
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


def _seed(history: Sequence[Turn], user: str) -> Any:
    """The input of a first interaction: the message alone, or the transcript as steps
    (``user_input`` / ``model_output``) followed by it."""
    if not history:
        return user

    def step(kind: str, text: str) -> dict[str, Any]:
        return {"type": kind, "content": [{"type": "text", "text": text}]}

    steps = [step("user_input" if t.role == "user" else "model_output", t.content) for t in history]
    return [*steps, step("user_input", user)]


class GeminiProvider(JsonFromStructured):
    """A Gemini model (``spec.upstream_model``) on the Interactions API."""

    name = "gemini"
    stateful = True

    def __init__(self, spec: ModelSpec, api_key: str | None) -> None:
        from google import genai
        from google.genai import types

        self.spec = spec
        options = types.HttpOptions(
            base_url=spec.base_url,
            timeout=int(spec.timeout_s * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        self._client = genai.Client(api_key=api_key or "unset", http_options=options).aio

    async def open_session(self, *, system: str | None, history: Sequence[Turn]) -> str | None:
        """None: the first interaction opens the chain."""
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
        """One interaction continuing ``session_id`` (or starting a chain with ``history``),
        streamed; the completion's ``session_id`` is the new head."""
        kwargs: dict[str, Any] = {"model": self.spec.upstream_model, "stream": True}
        if session_id:
            kwargs["previous_interaction_id"] = session_id
            kwargs["input"] = user
        else:
            kwargs["input"] = _seed(history, user)
        if system:
            kwargs["system_instruction"] = system
        parts: list[str] = []
        head = status = None
        usage = Usage()
        try:
            events = await self._client.interactions.create(**kwargs)
            async for event in events:
                kind = getattr(event, "event_type", None)
                if kind == "step.delta":
                    text = getattr(event.delta, "text", None)
                    if text:
                        await on_delta(Delta(len(parts), text))
                        parts.append(text)
                elif kind in ("interaction.created", "interaction.completed"):
                    head = event.interaction.id or head
                    status = event.interaction.status
                    if event.interaction.usage is not None:
                        usage = Usage(
                            event.interaction.usage.total_input_tokens,
                            event.interaction.usage.total_output_tokens,
                        )
                elif kind == "error":
                    raise ProviderError(f"stream error: {event}", kind=ErrorKind.UNAVAILABLE)
        except ProviderError:
            raise
        except Exception as exc:
            raise classify_sdk_error(exc, session_call=bool(session_id)) from exc
        if head is None:
            raise ProviderError("the stream named no interaction", kind=ErrorKind.UNAVAILABLE)
        return Completion(
            "".join(parts),
            session_id=head,
            response_id=head,
            finish_reason=str(status) if status else None,
            usage=usage,
            last_byte_at=time.time(),
        )

    async def generate_structured(
        self, *, system: str, user: str, json_schema: dict[str, Any], schema_name: str
    ) -> StructuredAnswer:
        """:meth:`generate_json` with the interaction's usage and raw text."""
        try:
            result = await self._client.interactions.create(
                model=self.spec.upstream_model,
                input=user,
                system_instruction=system,
                store=False,
                response_format={
                    "type": "text",
                    "mime_type": "application/json",
                    "schema": json_schema,
                },
            )
        except Exception as exc:
            raise classify_sdk_error(exc) from exc
        text = getattr(result, "output_text", None) or ""
        used = getattr(result, "usage", None)
        usage = Usage(
            getattr(used, "total_input_tokens", None), getattr(used, "total_output_tokens", None)
        )
        return StructuredAnswer(parse_json_object(text), usage, text)


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object in ``text``.

    Raises:
        ProviderError: BAD_ANSWER when it is not a JSON object.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProviderError(
            f"the answer is not JSON: {text[:200]!r}", kind=ErrorKind.BAD_ANSWER
        ) from exc
    if not isinstance(value, dict):
        raise ProviderError(
            f"the answer is not a JSON object: {text[:200]!r}", kind=ErrorKind.BAD_ANSWER
        )
    return value
