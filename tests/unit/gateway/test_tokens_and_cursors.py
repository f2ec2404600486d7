"""What the HTTP edge takes from a caller before any query: a token's subject (a token verified
once remembered until it expires) and a list cursor.
Anything a caller can craft is refused with a 4xx problem, never carried into an event or a
query where it would fail as a 500."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime

import pytest
from parley_contracts import MAX_USER_ID_CHARS
from parley_gateway.api import auth
from parley_gateway.api.auth import InvalidToken, issue_token, verify_token
from parley_gateway.api.cursors import decode_cursor, encode_cursor
from parley_gateway.api.problems import BadCursor
from parley_gateway.settings import GatewaySettings

SETTINGS = GatewaySettings(jwt_secret="unit-test-secret-0123456789-abcdef")


def test_a_subject_as_long_as_events_carry_is_accepted() -> None:
    user = "u" * MAX_USER_ID_CHARS
    token, _ = issue_token(SETTINGS, user)
    assert verify_token(SETTINGS, token) == user


def test_a_longer_subject_is_refused_as_an_invalid_token() -> None:
    token, _ = issue_token(SETTINGS, "u" * (MAX_USER_ID_CHARS + 1))
    with pytest.raises(InvalidToken) as refused:
        verify_token(SETTINGS, token)
    assert "over 200 characters" in refused.value.detail


def test_a_token_verified_once_is_remembered_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded: list[str] = []
    real_decode = auth.jwt.decode

    def counting_decode(token: str, *args: object, **kwargs: object) -> object:
        decoded.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr(auth.jwt, "decode", counting_decode)
    user = f"u-{uuid.uuid4().hex}"
    token, ttl = issue_token(SETTINGS, user)
    assert [verify_token(SETTINGS, token) for _ in range(3)] == [user] * 3
    assert decoded == [token]  # the signature checked once
    later = time.time() + ttl + 1
    monkeypatch.setattr(auth.time, "time", lambda: later)
    with pytest.raises(InvalidToken) as refused:  # remembered, and expired all the same
        verify_token(SETTINGS, token)
    assert refused.value.detail == "Signature has expired"


def test_a_token_that_fails_is_checked_again_each_time() -> None:
    token, _ = issue_token(SETTINGS, f"u-{uuid.uuid4().hex}")
    other = GatewaySettings(jwt_secret="another-unit-test-secret-0123456789")
    for _ in range(2):
        with pytest.raises(InvalidToken) as refused:
            verify_token(other, token)  # another key: never remembered as valid
        assert refused.value.detail == "Signature verification failed"


def test_a_cursor_round_trips_in_utc() -> None:
    at, row = datetime(2026, 12, 5, 1, 2, 3, 456789, tzinfo=UTC), uuid.uuid4()
    assert decode_cursor(encode_cursor(at, row)) == (at, row)


def crafted(at: str, row: str = str(uuid.UUID(int=1))) -> str:
    return base64.urlsafe_b64encode(json.dumps([at, row]).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        crafted("0001-01-01T00:00:00+14:00"),  # before year 1 in UTC: out of range
        crafted("9999-12-31T23:59:59-14:00"),  # after year 9999 in UTC
        crafted("2026-12-05T01:02:03"),  # no offset: not one of ours
        crafted("2026-12-05T01:02:03+00:00", "not-a-uuid"),
        "%%%",
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
    ],
    ids=["underflow", "overflow", "naive", "bad-id", "not-base64", "not-a-pair"],
)
def test_a_crafted_cursor_is_a_bad_cursor(cursor: str) -> None:
    with pytest.raises(BadCursor):
        decode_cursor(cursor)
