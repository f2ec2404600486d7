"""``parley bench --reads``: the gateway's read paths for one user with a large history.

Seeds one user with ``sessions`` sessions and ``messages`` messages in all (spread evenly, half
user messages, half replies) straight into the gateway's tables, in one transaction, then
``ANALYZE``s them; seeding through the API would run the whole pipeline 100,000 times. It then
times, over HTTP, ``rounds`` requests of each read a client makes: the first page of the
session list, a page deep in it (keyset cursor after 5,000 sessions), a name search, one
session, and one session's history. It also prints PostgreSQL's plan of each query, so a missing
index shows as a ``Seq Scan``.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import asyncpg
import httpx

#: The gateway's schema (its service name).
SCHEMA = "gateway"

SEED_SESSIONS = f"""
INSERT INTO {SCHEMA}.sessions
    (id, user_id, name, name_source, model, message_count, user_turns, next_seq,
     created_at, updated_at, last_message_at)
SELECT gen_random_uuid(), $1, 'Session ' || i || ' about ' || (ARRAY['rust', 'sql', 'tcp',
       'python', 'travel', 'cooking'])[1 + i % 6], 'auto', 'echo-1', $2, $2 / 2, $2 + 1,
       now() - i * interval '1 minute', now() - i * interval '1 minute',
       now() - i * interval '1 minute'
FROM generate_series(1, $3) AS i
"""

SEED_MESSAGES = f"""
INSERT INTO {SCHEMA}.messages (id, session_id, seq, role, content, status, created_at)
SELECT gen_random_uuid(), s.id, n, CASE WHEN n % 2 = 1 THEN 'user' ELSE 'assistant' END,
       'message ' || n || ' of a long conversation', CASE WHEN n % 2 = 1 THEN 'answered'
       ELSE 'completed' END, s.created_at + n * interval '1 second'
FROM {SCHEMA}.sessions s, generate_series(1, $2) AS n
WHERE s.user_id = $1
"""

PLANS = {
    "list": f"SELECT id FROM {SCHEMA}.sessions WHERE user_id = $1 AND NOT is_archived"
    " ORDER BY activity_at DESC, id DESC LIMIT 51",
    "search": f"SELECT id FROM {SCHEMA}.sessions WHERE user_id = $1 AND NOT is_archived"
    " AND name ILIKE '%rust%' ORDER BY activity_at DESC, id DESC LIMIT 51",
    "history": f"SELECT m.id FROM {SCHEMA}.messages m WHERE m.session_id = (SELECT id FROM"
    f" {SCHEMA}.sessions WHERE user_id = $1 ORDER BY activity_at DESC, id DESC LIMIT 1)"
    " AND m.seq > 0 ORDER BY m.seq LIMIT 101",
}


async def seed(database_url: str, user_id: str, *, sessions: int, messages: int) -> None:
    """Write ``sessions`` sessions of ``user_id`` with ``messages`` messages in all."""
    per_session = max(1, messages // sessions)
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(SEED_SESSIONS, user_id, per_session, sessions)
            await conn.execute(SEED_MESSAGES, user_id, per_session)
        await conn.execute(f"ANALYZE {SCHEMA}.sessions")
        await conn.execute(f"ANALYZE {SCHEMA}.messages")
    finally:
        await conn.close()


async def plans(database_url: str, user_id: str) -> dict[str, str]:
    """The top line of each read query's plan (``EXPLAIN``), by query name."""
    conn = await asyncpg.connect(database_url)
    try:
        out = {}
        for name, sql in PLANS.items():
            rows = await conn.fetch(f"EXPLAIN {sql}", user_id)
            out[name] = " / ".join(r[0].strip() for r in rows if "Scan" in r[0])
        return out
    finally:
        await conn.close()


async def time_reads(base_url: str, user_id: str, *, rounds: int) -> dict[str, dict[str, float]]:
    """p50/p95/p99/max milliseconds of each read, ``rounds`` requests each, one at a time."""
    from .bench import percentile

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        r = await http.post("/api/auth/token", json={"user_id": user_id})
        r.raise_for_status()
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        first = (await http.get("/api/sessions", headers=h, params={"limit": 200})).json()
        ids = [s["id"] for s in first["items"]]
        cursor = first["next_cursor"]
        for _ in range(24):  # 25 pages of 200: a cursor 5,000 sessions deep
            page = (
                await http.get("/api/sessions", headers=h, params={"limit": 200, "cursor": cursor})
            ).json()
            ids += [s["id"] for s in page["items"]]
            cursor = page["next_cursor"] or cursor
        reads: dict[str, tuple[str, dict[str, Any]]] = {
            "list first page": ("/api/sessions", {}),
            "list 5,000 deep": ("/api/sessions", {"cursor": cursor}),
            "search by name": ("/api/sessions", {"q": "rust"}),
        }
        samples: dict[str, list[float]] = {name: [] for name in [*reads, "get", "history"]}
        rng = random.Random(7)
        for _ in range(rounds):
            some = rng.choice(ids)
            calls = [*reads.items(), ("get", (f"/api/sessions/{some}", {}))]
            calls.append(("history", (f"/api/sessions/{some}/messages", {})))
            for name, (path, params) in calls:
                started = time.perf_counter()
                r = await http.get(path, headers=h, params=params)
                samples[name].append((time.perf_counter() - started) * 1000)
                r.raise_for_status()
    return {
        name: {q: percentile(v, f) for q, f in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))}
        | {"max": max(v)}
        for name, v in samples.items()
    }


async def bench_reads(
    base_url: str, database_url: str, *, sessions: int, messages: int, rounds: int
) -> dict[str, Any]:
    """Seed, then time the reads; the report as a dict."""
    user_id = f"reads-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    await seed(database_url, user_id, sessions=sessions, messages=messages)
    seeded_s = time.monotonic() - started
    return {
        "user_sessions": sessions,
        "user_messages": messages,
        "seed_s": seeded_s,
        "reads_ms": await time_reads(base_url, user_id, rounds=rounds),
        "plans": await plans(database_url, user_id),
    }


def render_reads(report: dict[str, Any]) -> str:
    """The human-readable form of :func:`bench_reads`."""
    lines = [
        f"one user with {report['user_sessions']} sessions and {report['user_messages']}"
        f" messages (seeded in {report['seed_s']:.1f}s)"
    ]
    for name, s in report["reads_ms"].items():
        lines.append(f"{name:>17} ms: " + " ".join(f"{k}={v:.1f}" for k, v in s.items()))
    lines += [f"plan {name}: {plan}" for name, plan in report["plans"].items()]
    return "\n".join(lines)
