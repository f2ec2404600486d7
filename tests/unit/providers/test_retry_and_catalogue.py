"""The provider library's pure parts: error classification, retries, the catalogue."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from parley_providers import (
    ErrorKind,
    ProviderError,
    RetryPolicy,
    call_with_retries,
    classify_status,
    load_catalogue,
    parse_retry_after,
)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=now.timestamp()) == pytest.approx(30, abs=1)


@pytest.mark.parametrize(
    ("status", "session_call", "kind"),
    [
        (429, False, ErrorKind.RATE_LIMITED),
        (503, False, ErrorKind.UNAVAILABLE),
        (500, True, ErrorKind.UNAVAILABLE),
        (404, True, ErrorKind.SESSION_LOST),
        (404, False, ErrorKind.BAD_REQUEST),
        (401, True, ErrorKind.BAD_REQUEST),
    ],
)
def test_statuses_are_classified(status: int, session_call: bool, kind: ErrorKind) -> None:
    error = classify_status(status, "x", {"retry-after": "3"}, session_call=session_call)
    assert error.kind is kind
    assert error.retry_after_s == 3.0
    assert error.retryable == (kind in (ErrorKind.RATE_LIMITED, ErrorKind.UNAVAILABLE))


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_retries_honour_retry_after_and_stop_at_the_deadline() -> None:
    clock = FakeClock()
    waits: list[float] = []

    async def sleep(delay: float) -> None:
        waits.append(delay)
        clock.now += delay

    tries = 0

    async def rate_limited() -> str:
        nonlocal tries
        tries += 1
        raise ProviderError("slow down", kind=ErrorKind.RATE_LIMITED, retry_after_s=2.0)

    with pytest.raises(ProviderError):
        await call_with_retries(
            rate_limited, RetryPolicy(deadline_s=7.0, max_attempts=100), clock=clock, sleep=sleep
        )
    assert waits == [2.0, 2.0, 2.0]  # a fourth wait would end at 8 s, past the deadline
    assert tries == 4


async def test_backoff_is_jittered_exponential_and_capped() -> None:
    waits: list[float] = []

    async def sleep(delay: float) -> None:
        waits.append(delay)

    tries = 0

    async def flaky() -> str:
        nonlocal tries
        tries += 1
        if tries < 6:
            raise ProviderError("503", kind=ErrorKind.UNAVAILABLE)
        return "ok"

    policy = RetryPolicy(deadline_s=1000, base_s=1.0, cap_s=4.0, rng=random.Random(7))
    assert await call_with_retries(flaky, policy, sleep=sleep) == "ok"
    assert len(waits) == 5
    for attempt, wait in enumerate(waits, start=1):
        assert 0 <= wait <= min(4.0, 2 ** (attempt - 1))
    assert len(set(waits)) == 5


async def test_a_bad_request_is_not_retried() -> None:
    tries = 0

    async def refused() -> str:
        nonlocal tries
        tries += 1
        raise ProviderError("401", kind=ErrorKind.BAD_REQUEST)

    with pytest.raises(ProviderError):
        await call_with_retries(refused, RetryPolicy())
    assert tries == 1


def test_the_bundled_catalogue_defaults_to_echo_and_names_missing_keys(tmp_path) -> None:
    catalogue = load_catalogue()
    assert catalogue.default_model == "echo-1"
    assert {"echo-1", "replay-1"} <= set(catalogue.names())
    unusable = catalogue.unusable({})
    assert unusable["gemini-2.5-flash"] == "GEMINI_API_KEY is not set"
    assert "echo-1" not in unusable
    key_file = tmp_path / "key"
    key_file.write_text("sk-test\n")
    spec = catalogue.get("gpt-4.1-mini")
    assert spec is not None and spec.api_key({"OPENAI_API_KEY_FILE": str(key_file)}) == "sk-test"


def test_a_catalogue_file_is_checked(tmp_path, monkeypatch) -> None:
    path = tmp_path / "models.toml"
    path.write_text('default_model = "x"\n[[models]]\nname = "y"\nprovider = "echo"\n')
    with pytest.raises(ValueError, match="default_model"):
        load_catalogue(path)
    path.write_text('[[models]]\nname = "y"\nprovider = "carrier-pigeon"\n')
    with pytest.raises(ValueError):
        load_catalogue(path)
    path.write_text('default_model = "y"\n[[models]]\nname = "y"\nprovider = "openai"\n')
    monkeypatch.setenv("PARLEY_MODELS_FILE", str(path))
    assert load_catalogue().names() == ["y"]
