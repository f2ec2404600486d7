"""The naming features through the HTTP API on real NATS and PostgreSQL, with the offline namer
(the default without a naming model's key): provisional then generated names on the event
stream, suggestions, regenerate, 409s, and analytics that match the attempts made."""

from __future__ import annotations

import uuid

from prometheus_client import REGISTRY
from session_events import EventLog
from stack import Client, Stack

LISBON = "Plan a three-day trip to Lisbon with museums and seafood restaurants"
QPDF = "How do I rotate a PDF page with qpdf on the command line?"


async def attempt_rows(stack: Stack, user_id: str) -> list[dict]:
    db = await stack.db()
    try:
        rows = await db.fetch(
            "SELECT session_id, purpose, namer, outcome, name, words, duration_ms"
            " FROM namer.naming_attempts WHERE user_id = $1",
            user_id,
        )
    finally:
        await db.close()
    return [dict(r) for r in rows]


def metric(purpose: str, outcome: str) -> float:
    labels = {"purpose": purpose, "namer": "offline", "outcome": outcome}
    return REGISTRY.get_sample_value("parley_naming_attempts_total", labels) or 0.0


async def test_a_provisional_name_comes_at_once_then_the_generated_one(alice: Client) -> None:
    sid = (await alice.create_session())["id"]
    async with EventLog(alice) as log:
        await alice.post(sid, LISBON)
        await log.until(lambda lg: any(e.get("name_source") == "auto" for e in lg.of(sid)))
    named = log.of(sid, "session.named")
    assert [e["name_source"] for e in named] == ["provisional", "auto"]
    assert "Lisbon" in named[0]["name"] and 1 <= len(named[1]["name"].split()) <= 10
    session = await alice.session(sid)
    assert (session["name"], session["name_source"]) == (named[1]["name"], "auto")


async def test_suggestions_are_distinct_and_applied_with_a_rename(alice: Client) -> None:
    sid = (await alice.create_session())["id"]
    await alice.post(sid, QPDF)
    before = await alice.wait_for(sid, lambda s: s["name_source"] == "auto")
    r = await alice.request("POST", f"/api/sessions/{sid}/name-suggestions")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["namer"] == "offline" and body["language"] == "en"
    titles = body["titles"]
    assert len(titles) == 3 and len({t.casefold() for t in titles}) == 3, titles
    assert all(1 <= len(t.split()) <= 10 for t in titles)
    assert (await alice.session(sid))["name"] == before["name"]  # nothing changed yet
    r = await alice.request("PATCH", f"/api/sessions/{sid}", json={"name": titles[1]})
    assert (r.json()["name"], r.json()["name_source"]) == (titles[1], "user")


async def test_regenerate_names_again_and_refuses_a_user_named_session(alice: Client) -> None:
    sid = (await alice.create_session())["id"]
    await alice.post(sid, LISBON)
    first = await alice.wait_for(sid, lambda s: s["name_source"] == "auto")
    async with EventLog(alice) as log:
        r = await alice.request("POST", f"/api/sessions/{sid}/name:regenerate")
        assert r.status_code == 200, r.text
        assert r.json()["name_source"] == "auto" and r.json()["name"]
        assert r.json()["name"] != first["name"]  # another name, since another can be made
        await log.until(lambda lg: bool(lg.of(sid, "session.named")))
    assert log.of(sid, "session.named")[0]["name"] == r.json()["name"]

    await alice.request("PATCH", f"/api/sessions/{sid}", json={"name": "My Lisbon Plans"})
    r = await alice.request("POST", f"/api/sessions/{sid}/name:regenerate")
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "named by its user" in r.json()["detail"]
    assert (await alice.session(sid))["name"] == "My Lisbon Plans"


async def test_naming_on_request_needs_a_message_and_the_callers_session(
    alice: Client, bob: Client
) -> None:
    empty = (await alice.create_session())["id"]
    for path in ("name-suggestions", "name:regenerate"):
        r = await alice.request("POST", f"/api/sessions/{empty}/{path}")
        assert (r.status_code, r.json()["title"]) == (409, "Naming conflict"), r.text
        r = await bob.request("POST", f"/api/sessions/{empty}/{path}")
        assert r.status_code == 404
    r = await alice.request("POST", f"/api/sessions/{uuid.uuid4()}/name-suggestions")
    assert r.status_code == 404


async def test_analytics_match_the_attempts_made_and_opt_out_keeps_content_out(
    stack: Stack, alice: Client, bob: Client
) -> None:
    counted = {k: metric(*k) for k in (("auto", "named"), ("suggest", "suggested"))}
    sid = (await alice.create_session())["id"]
    await alice.post(sid, QPDF)
    await alice.wait_for(sid, lambda s: s["name_source"] == "auto")
    assert (await alice.request("POST", f"/api/sessions/{sid}/name-suggestions")).status_code == 200
    assert (await alice.request("POST", f"/api/sessions/{sid}/name:regenerate")).status_code == 200
    private = (await alice.create_session(analytics_opt_out=True))["id"]
    await alice.post(private, LISBON)
    await alice.wait_for(private, lambda s: s["name_source"] == "auto")
    await bob.post((await bob.create_session())["id"], LISBON)  # not alice's

    r = await alice.request("GET", "/api/analytics/naming")
    assert r.status_code == 200, r.text
    figures = r.json()
    rows = await attempt_rows(stack, alice.user_id)
    assert len(rows) == figures["attempts"] == 4
    assert figures["sessions"] == 2 and figures["attempts_per_session"] == 2.0
    assert figures["outcomes"] == {"named": 3, "suggested": 1}
    assert figures["success_rate"] == 1.0
    assert figures["namers"] == {"offline": 4} and figures["languages"] == {"en": 4}
    latencies = sorted(r["duration_ms"] for r in rows)
    assert figures["latency_ms_p50"] == latencies[1]  # nearest rank: ceil(0.5 * 4) = 2nd
    assert figures["latency_ms_p95"] == latencies[3]
    words = sorted(r["words"] for r in rows)
    assert figures["words_median"] == (words[1] + words[2]) / 2
    assert figures["fallbacks"] == 0 and figures["input_tokens"] == 0

    by_session = {r["session_id"]: r for r in rows if r["purpose"] == "auto"}
    assert by_session[uuid.UUID(private)]["name"] is None  # opted out: no content
    assert by_session[uuid.UUID(private)]["words"] is not None  # figures stay
    assert by_session[uuid.UUID(sid)]["name"] is not None
    assert metric("auto", "named") - counted[("auto", "named")] >= 2
    assert metric("suggest", "suggested") - counted[("suggest", "suggested")] >= 1
