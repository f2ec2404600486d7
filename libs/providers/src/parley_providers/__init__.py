"""Parley's clients of upstream AIs behind one shape, and the model catalogue.

- :mod:`.base`: turns, deltas, completions, classified :class:`ProviderError`;
- :mod:`.retry`: ``Retry-After``, backoff with jitter, a deadline;
- :mod:`.catalogue`: the models (TOML, ``PARLEY_MODELS_FILE``);
- one module per provider: :mod:`.gemini`, :mod:`.openai_responses`, :mod:`.openai_compatible`,
  :mod:`.session_http` (their SDKs are imported only when a model of theirs is built).

No NATS, no database: services use these from their adapters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import (
    Completion,
    Delta,
    DeltaSink,
    ErrorKind,
    Provider,
    ProviderError,
    StructuredAnswer,
    Turn,
    Usage,
    classify_sdk_error,
    classify_status,
    parse_retry_after,
)
from .catalogue import OFFLINE_PROVIDERS, Catalogue, ModelSpec, load_catalogue
from .retry import RetryPolicy, call_with_retries

__all__ = [
    "Catalogue",
    "Completion",
    "Delta",
    "DeltaSink",
    "ErrorKind",
    "ModelSpec",
    "OFFLINE_PROVIDERS",
    "Provider",
    "ProviderError",
    "RetryPolicy",
    "StructuredAnswer",
    "Turn",
    "Usage",
    "build_provider",
    "call_with_retries",
    "classify_sdk_error",
    "classify_status",
    "generate_json",
    "generate_structured",
    "load_catalogue",
    "parse_retry_after",
]


def build_provider(spec: ModelSpec, api_key: str | None = None) -> Provider:
    """The client of ``spec``'s provider, with ``api_key`` (default: from the environment).

    Raises:
        ValueError: an offline provider (``echo``/``replay``: the chat service's own), or a
            session-http model without ``base_url``.
    """
    key = api_key if api_key is not None else spec.api_key()
    if spec.provider == "gemini":
        from .gemini import GeminiProvider

        return GeminiProvider(spec, key)
    if spec.provider == "openai":
        from .openai_responses import OpenAIProvider

        return OpenAIProvider(spec, key)
    if spec.provider == "openai-compatible":
        from .openai_compatible import OpenAICompatibleProvider

        return OpenAICompatibleProvider(spec, key)
    if spec.provider == "session-http":
        from .session_http import SessionHttpProvider

        return SessionHttpProvider(spec, key)
    raise ValueError(f"model {spec.name}: provider {spec.provider} is offline, not a client")


async def generate_json(
    model: ModelSpec | str,
    system: str,
    user: str,
    json_schema: dict[str, Any],
    *,
    schema_name: str = "answer",
    catalogue: Catalogue | None = None,
    policy: RetryPolicy | None = None,
) -> dict[str, Any]:
    """Ask ``model`` (a spec, or a name in ``catalogue``/the loaded catalogue) for one JSON object
    matching ``json_schema`` (Gemini ``response_format`` schema, OpenAI ``json_schema`` text
    format, chat completions ``response_format``), retried per ``policy`` (default: 30 s deadline).

    Raises:
        ProviderError: the call failed for good, or the answer is not a JSON object.
        KeyError: ``model`` names no model of the catalogue.
    """
    answer = await generate_structured(
        model,
        system,
        user,
        json_schema,
        schema_name=schema_name,
        catalogue=catalogue,
        policy=policy,
    )
    return answer.value


async def generate_structured(
    model: ModelSpec | str,
    system: str,
    user: str,
    json_schema: dict[str, Any],
    *,
    schema_name: str = "answer",
    catalogue: Catalogue | None = None,
    policy: RetryPolicy | None = None,
    provider: Provider | None = None,
    on_retry: Callable[[int, Exception, float], None] | None = None,
) -> StructuredAnswer:
    """:func:`generate_json` with the token usage and raw text of the call that succeeded.

    ``provider``: an already built client of ``model`` (default: one built for this call);
    ``on_retry(attempt, error, delay_s)`` is told of each retry (429, 5xx, timeouts).

    Raises:
        ProviderError: the call failed for good, or the answer is not a JSON object.
        KeyError: ``model`` names no model of the catalogue.
    """
    if isinstance(model, str):
        spec = (catalogue or load_catalogue()).get(model)
        if spec is None:
            raise KeyError(f"model {model!r} is not in the catalogue")
    else:
        spec = model
    client = provider or build_provider(spec)
    return await call_with_retries(
        lambda: client.generate_structured(
            system=system, user=user, json_schema=json_schema, schema_name=schema_name
        ),
        policy or RetryPolicy(deadline_s=30.0),
        on_retry=on_retry,
    )
