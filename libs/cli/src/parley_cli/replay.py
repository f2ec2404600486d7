"""``parley replay``: the main job on real input.

Drives a running gateway over HTTP with the real user turns of a conversations file (ShareGPT
JSON lines): one session per conversation, its first ``turns`` user messages posted in order
(each waiting for its reply), then waits until the session is named and tagged (watching
``GET /api/events``). Prints a table: conversation id, first user message (60 characters),
session name, tag, and the seconds from the first reply to the name, both as this client saw them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from parley_runtime.conversations import Conversation, read_conversations

from .watch import SessionWatch

#: The longest the gateway waits for a reply in one request (its ``PARLEY_MAX_WAIT_S`` default).
GATEWAY_MAX_WAIT_S = 60.0


@dataclass
class ReplayRow:
    """The outcome of one replayed conversation."""

    conversation_id: str
    first_message: str
    name: str | None = None
    tag: str | None = None
    seconds_to_name: float | None = None
    error: str | None = None


async def _token(http: httpx.AsyncClient, user_id: str) -> dict[str, str]:
    r = await http.post("/api/auth/token", json={"user_id": user_id})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def replay_one(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    watch: SessionWatch,
    conversation: Conversation,
    *,
    turns: int,
    timeout_s: float,
    model: str | None = None,
) -> ReplayRow:
    """Replay one conversation (on ``model``, else the gateway's default); errors are reported
    in the row, not raised."""
    first = conversation.exchanges[0].user
    row = ReplayRow(conversation.id, " ".join(first.split())[:60])
    try:
        r = await http.post(
            "/api/sessions",
            headers=headers,
            json={
                "metadata": {"replay_conversation_id": conversation.id},
                **({"model": model} if model else {}),
            },
        )
        r.raise_for_status()
        sid = r.json()["id"]
        first_reply_at: float | None = None
        for exchange in conversation.exchanges[:turns]:
            r = await http.post(
                f"/api/sessions/{sid}/messages",
                headers=headers,
                params={"wait": min(timeout_s, GATEWAY_MAX_WAIT_S)},
                json={"content": exchange.user},
            )
            r.raise_for_status()
            if r.json()["reply"] is None:
                raise TimeoutError(f"no reply within {min(timeout_s, GATEWAY_MAX_WAIT_S):.0f} s")
            first_reply_at = first_reply_at or time.monotonic()
        assert first_reply_at is not None
        seen = await watch.named_and_tagged(sid, timeout_s)
        assert seen.named_at is not None
        row.name, row.tag = seen.name, seen.tag
        row.seconds_to_name = max(0.0, seen.named_at - first_reply_at)
    except Exception as exc:  # one conversation's failure is a row, not the end of the run
        row.error = f"{type(exc).__name__}: {exc}"[:120]
    return row


def render(rows: list[ReplayRow]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| conversation | first user message | session name | tag | s to name |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [
            row.conversation_id,
            row.first_message.replace("|", "\\|"),
            (row.name or f"ERROR {row.error}").replace("|", "\\|"),
            row.tag or "",
            f"{row.seconds_to_name:.2f}" if row.seconds_to_name is not None else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


async def replay_file(
    path: Path,
    *,
    limit: int,
    turns: int,
    base_url: str,
    concurrency: int,
    timeout_s: float,
    user_id: str,
    model: str | None = None,
) -> int:
    """Replay ``limit`` conversations of ``path`` (on ``model``, a name of the catalogue; else
    the gateway's default model), print the table and a summary.

    Returns 0 when every conversation was named and tagged, 1 otherwise.
    """
    conversations = list(read_conversations(path, limit=limit))
    started = time.monotonic()
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s + 10) as http:
        headers = await _token(http, user_id)
        watch = SessionWatch(http, headers)
        await watch.start()

        async def bounded(conversation: Conversation) -> ReplayRow:
            async with gate:
                return await replay_one(
                    http,
                    headers,
                    watch,
                    conversation,
                    turns=turns,
                    timeout_s=timeout_s,
                    model=model,
                )

        try:
            rows = await asyncio.gather(*(bounded(c) for c in conversations))
        finally:
            await watch.stop()
    wall = time.monotonic() - started
    print(render(rows))
    named = [r for r in rows if r.error is None]
    delays = sorted(r.seconds_to_name for r in named if r.seconds_to_name is not None)
    median = delays[len(delays) // 2] if delays else float("nan")
    print(
        f"\n{len(named)}/{len(rows)} conversations named and tagged in {wall:.1f} s wall time"
        f" ({concurrency} at once); median {median:.2f} s from first reply to name"
    )
    return 0 if len(named) == len(rows) else 1
