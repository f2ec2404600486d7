"""Naming analytics: figures summed up from the recorded attempts, and what an attempt of a
session that opted out of analytics may keep."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

#: Outcomes of an attempt that produced a title.
SUCCESSFUL = frozenset({"named", "suggested"})


def percentile(values: Sequence[int], share: float) -> int | None:
    """The nearest-rank percentile (``share`` 0-1) of ``values``: the smallest value with at
    least ``share`` of them at or below it; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The figures of :class:`parley_contracts.NamingAnalytics` from attempt rows (each with
    ``session_id``, ``outcome``, ``namer``, ``language``, ``words``, ``duration_ms``,
    ``input_tokens``, ``output_tokens``, ``fallback_reason``). Raises nothing."""
    attempts = len(rows)
    sessions = len({r["session_id"] for r in rows})
    succeeded = [r for r in rows if r["outcome"] in SUCCESSFUL]
    words = [int(r["words"]) for r in succeeded if r["words"] is not None]
    latencies = [int(r["duration_ms"]) for r in rows]
    return {
        "sessions": sessions,
        "attempts": attempts,
        "success_rate": round(len(succeeded) / attempts, 4) if attempts else None,
        "attempts_per_session": round(attempts / sessions, 4) if sessions else None,
        "latency_ms_p50": percentile(latencies, 0.50),
        "latency_ms_p95": percentile(latencies, 0.95),
        "words_mean": round(statistics.fmean(words), 4) if words else None,
        "words_median": float(statistics.median(words)) if words else None,
        "languages": dict(Counter(r["language"] or "unknown" for r in rows)),
        "namers": dict(Counter(r["namer"] for r in rows)),
        "outcomes": dict(Counter(r["outcome"] for r in rows)),
        "fallbacks": sum(1 for r in rows if r["fallback_reason"]),
        "input_tokens": sum(r["input_tokens"] or 0 for r in rows),
        "output_tokens": sum(r["output_tokens"] or 0 for r in rows),
    }


def without_content(reason: str | None) -> str | None:
    """A fallback reason as a session that opted out of analytics may keep it: its kind only
    (the text before any detail that could quote the conversation or the model's answer)."""
    if reason is None:
        return None
    return reason.split(":", 1)[0].split("(", 1)[0].strip()[:80] or "refused"
