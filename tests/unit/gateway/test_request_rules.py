"""Request shapes and idempotency fingerprints of the gateway, without servers."""

from __future__ import annotations

import json
import uuid

import pytest
from parley_gateway.api.schemas import MAX_METADATA_DEPTH, SessionCreate, SessionPatch
from parley_gateway.domain.idempotency import EarlierUse, fingerprint
from pydantic import ValidationError


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


@pytest.mark.parametrize("model", [SessionCreate, SessionPatch])
@pytest.mark.parametrize(
    "raw",
    [
        '{"metadata": {"x": NaN}}',
        '{"metadata": {"x": Infinity}}',
        '{"metadata": {"x": [1, -Infinity]}}',
        '{"metadata": {"x": 1e400}}',
    ],
)
def test_metadata_numbers_must_be_finite(model: type, raw: str) -> None:
    with pytest.raises(ValidationError, match="finite"):
        model.model_validate(json.loads(raw))


@pytest.mark.parametrize("model", [SessionCreate, SessionPatch])
def test_metadata_may_nest_to_the_documented_depth_and_no_deeper(model: type) -> None:
    assert model.model_validate({"metadata": _nested(MAX_METADATA_DEPTH)}).metadata
    with pytest.raises(ValidationError, match="deeper"):
        model.model_validate({"metadata": _nested(MAX_METADATA_DEPTH + 1)})
    with pytest.raises(ValidationError, match="deeper"):
        model.model_validate({"metadata": _nested(300)})


def test_arrays_count_as_levels_and_keys_are_checked() -> None:
    deep: list = []
    for _ in range(MAX_METADATA_DEPTH):
        deep = [deep]
    with pytest.raises(ValidationError, match="deeper"):
        SessionCreate.model_validate({"metadata": {"a": deep}})
    with pytest.raises(ValidationError, match="NUL"):
        SessionCreate.model_validate({"metadata": {"a\x00": 1}})


def test_a_fingerprint_ignores_key_order_and_sees_every_change() -> None:
    base = fingerprint("POST", "/api/sessions", {"name": "a", "metadata": {"x": 1, "y": 2}})
    assert base == fingerprint("post", "/api/sessions", {"metadata": {"y": 2, "x": 1}, "name": "a"})
    assert base != fingerprint("POST", "/api/sessions", {"name": "b", "metadata": {"x": 1, "y": 2}})
    assert base != fingerprint("POST", "/api/other", {"name": "a", "metadata": {"x": 1, "y": 2}})
    assert len(base) == 64


def test_an_earlier_use_matches_only_the_same_resource_and_fingerprint() -> None:
    use = EarlierUse("message", uuid.uuid4(), "f1")
    assert use.matches("message", "f1")
    assert not use.matches("message", "f2")
    assert not use.matches("session", "f1")
    assert EarlierUse("message", uuid.uuid4(), None).matches("message", "any")
