"""The naming contracts: provisional names on session.named, and the namer's request/reply."""

from __future__ import annotations

import uuid

import pytest
from parley_contracts import NamingAnalytics, NamingRequest, SessionNamed, parse_event
from pydantic import ValidationError


def test_session_named_is_generated_unless_said_provisional() -> None:
    sid = uuid.uuid4()
    older = SessionNamed(session_id=sid, user_id="u", name="Trip", attempt=1)
    assert parse_event(older.to_json()).source == "auto"  # type: ignore[attr-defined]
    provisional = SessionNamed(
        session_id=sid, user_id="u", name="Trip", attempt=0, source="provisional"
    )
    assert parse_event(provisional.to_json()) == provisional
    with pytest.raises(ValidationError):
        SessionNamed(session_id=sid, user_id="u", name="Trip", attempt=1, source="user")


def test_a_naming_request_is_bounded() -> None:
    turn = {"role": "user", "content": "How do tides work?"}
    base = {"user_id": "u", "session_id": str(uuid.uuid4()), "purpose": "suggest"}
    request = NamingRequest.model_validate({**base, "count": 3, "turns": [turn]})
    assert (request.count, request.avoid, request.analytics_opt_out) == (3, [], False)
    for bad in (
        {"turns": [turn] * 7},
        {"turns": [{"role": "system", "content": "x"}]},
        {"turns": [turn], "count": 6},
        {"turns": [turn], "purpose": "rename"},
        {"turns": [turn], "avoid": ["a"] * 6},
        {"turns": [turn], "extra": True},
    ):
        with pytest.raises(ValidationError):
            NamingRequest.model_validate({**base, **bad})


def test_analytics_round_trip_as_json() -> None:
    figures = NamingAnalytics(
        sessions=1,
        attempts=2,
        success_rate=0.5,
        attempts_per_session=2.0,
        latency_ms_p50=10,
        latency_ms_p95=40,
        words_mean=3.0,
        words_median=3.0,
        languages={"en": 2},
        namers={"offline": 2},
        outcomes={"named": 1, "no_name": 1},
        fallbacks=0,
        input_tokens=0,
        output_tokens=0,
    )
    assert NamingAnalytics.model_validate_json(figures.model_dump_json()) == figures
