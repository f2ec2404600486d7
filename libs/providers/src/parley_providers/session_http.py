"""A generic session server over HTTP (``httpx``), described in the README:

- ``POST {base_url}/scenario`` ``{"scenario": persona, "message": text}`` -> ``{"session_id", "reply"}``
  opens a session with its first message;
- ``POST {base_url}/chat`` ``{"session_id", "message"}`` -> ``{"reply"}`` continues it; 404 means the
  session is gone.

Both answers may carry ``"id"`` (of the reply), ``"usage": {"input_tokens", "output_tokens"}``
and ``"finish_reason"``.
The key, if any, goes as ``Authorization: Bearer``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx

from .base import (
    Completion,
    Delta,
    DeltaSink,
    ErrorKind,
    ProviderError,
    StructuredAnswer,
    Turn,
    Usage,
    classify_sdk_error,
    classify_status,
)
from .catalogue import ModelSpec


def render_transcript(history: Sequence[Turn], user: str) -> str:
    """A lost session's transcript and the new message as one first message."""
    lines = ["The conversation so far:"]
    lines += [f"{t.role}: {t.content}" for t in history]
    return "\n".join([*lines, "", user])


class SessionHttpProvider:
    """A session server at ``spec.base_url``."""

    name = "session-http"
    stateful = True

    def __init__(self, spec: ModelSpec, api_key: str | None) -> None:
        if not spec.base_url:
            raise ValueError(f"model {spec.name}: session-http needs base_url")
        self.spec = spec
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            base_url=spec.base_url.rstrip("/"), headers=headers, timeout=spec.timeout_s
        )

    async def open_session(self, *, system: str | None, history: Sequence[Turn]) -> str | None:
        """None: ``/scenario`` opens the session with its first message."""
        return None

    async def _post(self, path: str, body: dict[str, Any], *, session_call: bool) -> dict[str, Any]:
        try:
            response = await self._http.post(path, json=body)
        except httpx.HTTPError as exc:
            raise classify_sdk_error(exc) from exc
        if response.status_code >= 400:
            raise classify_status(
                response.status_code, response.text, response.headers, session_call=session_call
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise ProviderError("the answer is not JSON", kind=ErrorKind.UNAVAILABLE) from exc
        if not isinstance(data, dict) or not isinstance(data.get("reply"), str):
            raise ProviderError("the answer has no reply", kind=ErrorKind.UNAVAILABLE)
        return data

    async def stream(
        self,
        *,
        session_id: str | None,
        system: str | None,
        user: str,
        history: Sequence[Turn],
        on_delta: DeltaSink,
    ) -> Completion:
        """``/chat`` on ``session_id``, or ``/scenario`` to open one (seeded with ``history``);
        the reply arrives whole and goes out as one delta."""
        if session_id:
            data = await self._post(
                "/chat", {"session_id": session_id, "message": user}, session_call=True
            )
        else:
            message = render_transcript(history, user) if history else user
            data = await self._post(
                "/scenario", {"scenario": system or "", "message": message}, session_call=False
            )
            session_id = data.get("session_id")
            if not isinstance(session_id, str) or not session_id:
                raise ProviderError("/scenario returned no session_id", kind=ErrorKind.UNAVAILABLE)
        last_byte_at = time.time()
        await on_delta(Delta(0, data["reply"]))
        usage = data.get("usage") or {}
        return Completion(
            data["reply"],
            session_id=session_id,
            response_id=data.get("id"),
            finish_reason=data.get("finish_reason") or "stop",
            usage=Usage(usage.get("input_tokens"), usage.get("output_tokens")),
            last_byte_at=last_byte_at,
        )

    async def generate_json(
        self, *, system: str, user: str, json_schema: dict[str, Any], schema_name: str
    ) -> dict[str, Any]:
        """Not offered: a session server has no structured output.

        Raises:
            ProviderError: always, BAD_REQUEST.
        """
        raise ProviderError(
            "session-http servers offer no structured output", kind=ErrorKind.BAD_REQUEST
        )

    async def generate_structured(
        self, *, system: str, user: str, json_schema: dict[str, Any], schema_name: str
    ) -> StructuredAnswer:
        """Not offered, as :meth:`generate_json`.

        Raises:
            ProviderError: always, BAD_REQUEST.
        """
        raise ProviderError(
            "session-http servers offer no structured output", kind=ErrorKind.BAD_REQUEST
        )
