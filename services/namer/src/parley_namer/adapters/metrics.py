"""Prometheus metrics of naming, served at the namer's ``GET /metrics`` beside the chassis's."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from ..domain.policy import Proposal

ATTEMPTS = Counter(
    "parley_naming_attempts_total",
    "Naming attempts by purpose (auto, suggest, regenerate), namer (offline, llm:<model>) and "
    "outcome (named, suggested, no_name, error, superseded).",
    ["purpose", "namer", "outcome"],
)
FALLBACKS = Counter(
    "parley_naming_fallbacks_total",
    "Attempts where a naming model's answers were not used and the offline namer named instead.",
    ["purpose"],
)
SECONDS = Histogram(
    "parley_naming_seconds",
    "Time of one naming attempt, in seconds (model calls, retries and fallback included).",
    ["purpose", "namer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30),
)
TOKENS = Counter(
    "parley_naming_tokens_total",
    "Tokens of naming model calls, by direction (input, output).",
    ["direction"],
)
WORDS = Histogram(
    "parley_naming_title_words",
    "Words of the titles named.",
    buckets=(1, 2, 3, 4, 5, 6, 8, 10),
)


def observe(purpose: str, outcome: str, proposal: Proposal | None, duration_ms: int) -> None:
    """Count one attempt (``proposal`` None when it failed before proposing)."""
    namer = proposal.namer if proposal else "unknown"
    ATTEMPTS.labels(purpose, namer, outcome).inc()
    SECONDS.labels(purpose, namer).observe(duration_ms / 1000)
    if proposal is None:
        return
    if proposal.fallback_reason:
        FALLBACKS.labels(purpose).inc()
    TOKENS.labels("input").inc(proposal.input_tokens or 0)
    TOKENS.labels("output").inc(proposal.output_tokens or 0)
    if proposal.name:
        WORDS.observe(len(proposal.name.split()))
