"""Property tests (Hypothesis) of the gateway's request rules: metadata limits, fingerprints,
and the body limit however a body is split into chunks."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from parley_gateway.api.edge import BodyLimit
from parley_gateway.api.schemas import MAX_METADATA_DEPTH, SessionCreate
from parley_gateway.domain.idempotency import fingerprint
from pydantic import ValidationError

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def _nul_free(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" not in value
    if isinstance(value, dict):
        return all(_nul_free(k) and _nul_free(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_nul_free(v) for v in value)
    return True


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=4), st.integers(0, 40))
def test_metadata_is_accepted_exactly_when_finite_nul_free_and_shallow_enough(
    metadata: dict[str, Any], extra_depth: int
) -> None:
    for _ in range(extra_depth):
        metadata = {"k": metadata}
    storable = _depth(metadata) <= MAX_METADATA_DEPTH and _finite(metadata) and _nul_free(metadata)
    try:
        SessionCreate.model_validate({"metadata": metadata})
    except ValidationError:
        assert not storable
    else:
        assert storable


@given(st.dictionaries(st.text(max_size=5), scalars.filter(lambda v: v == v), max_size=6))
def test_a_fingerprint_does_not_depend_on_key_order(body: dict[str, Any]) -> None:
    reordered = dict(reversed(list(body.items())))
    assert fingerprint("POST", "/p", body) == fingerprint("POST", "/p", reordered)


async def _send(limit: int, chunks: list[bytes]) -> tuple[int, int | None]:
    seen: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        seen.append(len(message["body"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = {"type": "http", "headers": []}  # chunked: no Content-Length
    await BodyLimit(app, limit)(scope, receive, send)
    return statuses[0], (seen[0] if seen else None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=50), min_size=1, max_size=10), st.integers(0, 300))
def test_a_chunked_body_reaches_the_app_whole_or_is_refused_by_its_size(
    chunks: list[bytes], limit: int
) -> None:
    status, seen = asyncio.run(_send(limit, chunks))
    size = sum(map(len, chunks))
    if size <= limit:
        assert (status, seen) == (200, size)
    else:
        assert (status, seen) == (413, None)
