"""The HTTP API's answers to what a client gets wrong: a missing or forged token, bad input of
every kind (each a problem document that writes nothing), and the health endpoints."""

from __future__ import annotations

import uuid

import httpx
import pytest
from stack import Client

PROBLEM = "application/problem+json"


async def test_a_missing_or_forged_token_is_a_401_problem(http: httpx.AsyncClient) -> None:
    r = await http.get("/api/sessions")
    assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM)
    r = await http.get("/api/sessions", headers={"Authorization": "Bearer not.a.jwt"})
    assert r.status_code == 401 and r.json()["title"]


BIG_METADATA = {"metadata": {"blob": "x" * 20_000}}
JSON = {"Content-Type": "application/json"}

#: Requests a client may get wrong: (method, url with {sid} for a session of the caller,
#: request arguments, expected status). Each is a problem document and writes nothing.
BAD_REQUESTS = {
    "blank-content": ("POST", "/api/sessions/{sid}/messages", {"json": {"content": "   "}}, 422),
    "content-too-long": (
        "POST", "/api/sessions/{sid}/messages", {"json": {"content": "x" * 40_000}}, 422
    ),
    "unknown-field": ("POST", "/api/sessions/{sid}/messages", {"json": {"text": "wrong"}}, 422),
    "nul-in-content": ("POST", "/api/sessions/{sid}/messages", {"json": {"content": "a\u0000b"}}, 422),
    "lone-surrogate": (
        "POST", "/api/sessions/{sid}/messages",
        {"content": b'{"content": "x\\ud800y"}', "headers": JSON}, 422,
    ),
    "nul-in-metadata": ("POST", "/api/sessions", {"json": {"metadata": {"k": "a\u0000b"}}}, 422),
    "nul-persona": ("POST", "/api/sessions", {"json": {"persona": "\u0000"}}, 422),
    "nul-name": ("POST", "/api/sessions", {"json": {"name": "x\u0000"}}, 422),
    "nul-in-query": ("GET", "/api/sessions", {"params": {"q": "a\u0000b"}}, 422),
    "nul-in-tag": ("GET", "/api/traces", {"params": {"session_tag": "a\u0000b"}}, 422),
    "metadata-too-large": ("POST", "/api/sessions", {"json": BIG_METADATA}, 422),
    "patch-metadata-too-large": ("PATCH", "/api/sessions/{sid}", {"json": BIG_METADATA}, 422),
    "unknown-session": ("GET", f"/api/sessions/{uuid.uuid4()}", {}, 404),
    "not-a-uuid": ("GET", "/api/sessions/not-a-uuid", {}, 422),
}  # fmt: skip


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status"), BAD_REQUESTS.values(), ids=BAD_REQUESTS
)
async def test_bad_input_is_a_problem_and_writes_nothing(
    alice: Client, method: str, url: str, kwargs: dict, status: int
) -> None:
    sid = (await alice.create_session())["id"]
    r = await alice.request(method, url.format(sid=sid), **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM) and r.json()["status"] == status
    session = await alice.session(sid)
    assert session["message_count"] == 0 and session["metadata"] == {}
    assert len((await alice.request("GET", "/api/sessions")).json()["items"]) == 1


async def test_a_token_for_an_empty_user_is_refused(http: httpx.AsyncClient) -> None:
    r = await http.post("/api/auth/token", json={"user_id": ""})
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)


async def test_health_readiness_and_metrics(http: httpx.AsyncClient, alice: Client) -> None:
    await alice.post((await alice.create_session())["id"], "count me")
    metrics = (await http.get("/metrics")).text
    assert (
        'parley_events_handled_total{consumer="gateway",event_type="reply.completed",outcome="ok"}'
        in metrics
    )
    assert 'parley_outbox_published_total{schema="gateway"}' in metrics
    assert "parley_event_handling_seconds_bucket" in metrics
    assert (await http.get("/healthz")).json()["status"] == "ok"
    ready = (await http.get("/readyz")).json()
    assert ready == {
        "status": "ready",
        "checks": {"database": True, "nats": True, "notifications": True},
    }
