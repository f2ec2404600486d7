"""Input at the gateway's edge that once became a 500, a hang or a silent mistake, through HTTP
against the real stack: each is now a clear problem (or the right answer) and loses nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from stack import Client

PROBLEM = "application/problem+json"


def _nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def _assert_422_problem(r: httpx.Response) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == 422 and isinstance(body["errors"], list) and body["errors"]
    for error in body["errors"]:
        assert {"loc", "msg", "type"} <= error.keys()


@pytest.mark.parametrize(
    "raw",
    [
        b'{"metadata": {"x": NaN}}',
        b'{"metadata": {"x": 1e400}}',
        b'{"metadata": {"x": [Infinity]}}',
        b'{"metadata": ' + str(_nested(300)).replace("'", '"').encode() + b"}",
    ],
    ids=["nan", "1e400", "infinity", "depth-300"],
)
async def test_metadata_the_database_cannot_keep_is_refused_on_post_and_patch(
    alice: Client, raw: bytes
) -> None:
    headers = {"Content-Type": "application/json"}
    _assert_422_problem(await alice.request("POST", "/api/sessions", content=raw, headers=headers))
    sid = (await alice.create_session())["id"]
    r = await alice.request("PATCH", f"/api/sessions/{sid}", content=raw, headers=headers)
    _assert_422_problem(r)
    listed = await alice.request("GET", "/api/sessions")
    assert listed.status_code == 200 and [s["metadata"] for s in listed.json()["items"]] == [{}]


async def test_metadata_at_the_documented_depth_is_kept_and_read_back(alice: Client) -> None:
    deep = _nested(32)
    session = await alice.create_session(metadata=deep)
    assert (await alice.session(session["id"]))["metadata"] == deep
    assert (await alice.request("GET", "/api/sessions")).status_code == 200


async def test_integers_past_the_columns_are_refused_by_the_schema(alice: Client) -> None:
    sid = (await alice.create_session())["id"]
    url = f"/api/sessions/{sid}/messages"
    r = await alice.request("GET", url, params={"after_seq": 2**31})
    _assert_422_problem(r)
    r = await alice.request("GET", url, params={"after_seq": 2**31 - 1})
    assert r.status_code == 200 and r.json()["items"] == []
    spec = (await alice.http.get("/openapi.json")).json()
    [after_seq] = [
        p
        for p in spec["paths"]["/api/sessions/{session_id}/messages"]["get"]["parameters"]
        if p["name"] == "after_seq"
    ]
    assert after_seq["schema"]["maximum"] == 2**31 - 1 and after_seq["schema"]["minimum"] == 0


async def test_a_body_over_the_limit_is_refused_before_it_is_parsed(alice: Client) -> None:
    sid = (await alice.create_session())["id"]
    url = f"/api/sessions/{sid}/messages"
    big = b'{"content": "' + b"x" * 2_000_000 + b'"}'
    r = await alice.request("POST", url, content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"].startswith(PROBLEM)

    async def chunked() -> AsyncIterator[bytes]:
        yield b'{"content": "'
        for _ in range(40):
            yield b"y" * 50_000
        yield b'"}'

    r = await alice.request(
        "POST", url, content=chunked(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["status"] == 413
    assert (await alice.session(sid))["message_count"] == 0


async def test_a_rule_violation_is_a_422_with_the_documented_errors(alice: Client) -> None:
    sid = (await alice.create_session())["id"]
    r = await alice.request("POST", f"/api/sessions/{sid}/messages", json={"content": "   "})
    _assert_422_problem(r)
    _assert_422_problem(await alice.request("PATCH", f"/api/sessions/{sid}", json={"name": None}))
    _assert_422_problem(await alice.request("POST", "/api/sessions", json={"name": "a\nb"}))


async def test_the_same_idempotency_key_with_another_body_is_a_422(alice: Client) -> None:
    sid = (await alice.create_session())["id"]
    url = f"/api/sessions/{sid}/messages"
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = await alice.request("POST", url, headers=key, json={"content": "first"})
    assert first.status_code == 201
    again = await alice.request("POST", url, headers=key, json={"content": "first"})
    assert again.status_code == 200
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    other = await alice.request("POST", url, headers=key, json={"content": "second"})
    _assert_422_problem(other)
    assert other.json()["title"] == "Idempotency key reused"

    skey = {"Idempotency-Key": f"s-{uuid.uuid4()}"}
    created = await alice.request("POST", "/api/sessions", headers=skey, json={"name": "One"})
    same = await alice.request("POST", "/api/sessions", headers=skey, json={"name": "One"})
    assert (created.status_code, same.status_code) == (201, 200)
    assert created.json()["id"] == same.json()["id"]
    _assert_422_problem(
        await alice.request("POST", "/api/sessions", headers=skey, json={"name": "Two"})
    )


async def test_a_posted_message_is_never_pending_beside_its_reply(alice: Client) -> None:
    sid = (await alice.create_session())["id"]
    for turn in range(3):
        posted = await alice.post(sid, f"question {turn}", wait=20)
        assert posted["reply"] is not None
        assert posted["message"]["status"] == "answered", posted
