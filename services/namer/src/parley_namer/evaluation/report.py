"""The measures of a namer over a file of conversations, and their report."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from parley_namer.domain.names import GENERIC_WORDS, MAX_WORDS, is_generic_name, prepare_turns
from parley_namer.domain.naming.judging import (
    conversation_language,
    in_language,
    is_verbatim_prefix,
)
from parley_namer.domain.naming.ports import LanguageDetector
from parley_namer.domain.naming.prose import prose
from parley_namer.domain.policy import Namer

from .reading import Conversation


@dataclass(frozen=True)
class Named:
    """One conversation's outcome: its name (None when none was made), the language the name
    should be in, how long naming took (ms) and the name's verdicts."""

    id: str
    first_message: str
    name: str | None
    language: str | None
    ms: float
    words: int
    generic: bool
    has_generic_word: bool
    in_language: bool
    verbatim_prefix: bool


def name_all(
    conversations: Iterable[Conversation],
    namer: Namer,
    detector: LanguageDetector,
    function_words: Callable[[str], frozenset[str]],
) -> list[Named]:
    """Name every conversation (timed, after one warm-up call) and judge each name."""
    rows = []
    warmed = False
    for conversation in conversations:
        turns = prepare_turns(conversation.turns)
        if not warmed:
            namer.propose_with_language(turns)
            warmed = True
        started = time.perf_counter()
        name, _ = namer.propose_with_language(turns)
        ms = (time.perf_counter() - started) * 1000
        user = prose(" ".join(t.content for t in turns if t.role == "user"))
        replies = prose(" ".join(t.content for t in turns if t.role == "assistant"))
        language = conversation_language(user, replies, detector, function_words)
        text = name or ""
        rows.append(
            Named(
                id=conversation.id,
                first_message=conversation.first_message,
                name=name,
                language=language,
                ms=ms,
                words=len(text.split()),
                generic=name is None or is_generic_name(text),
                has_generic_word=any(
                    w.strip(".,!?:;").casefold() in GENERIC_WORDS for w in text.split()
                ),
                in_language=name is not None and in_language(text, language, user, detector),
                verbatim_prefix=is_verbatim_prefix(text, turns[0].content),
            )
        )
    return rows


def _share(rows: Sequence[Named], flags: Iterable[bool]) -> float:
    return round(100 * sum(flags) / len(rows), 1) if rows else 0.0


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def measures(rows: Sequence[Named]) -> dict[str, Any]:
    """The measures of issue 8 in percent of all conversations (a conversation left unnamed
    counts as 0 words and generic), median words of the names made, and latency in ms (the
    nearest-rank p50 and p95 over the timed calls)."""
    named = [r for r in rows if r.name is not None]
    return {
        "conversations": len(rows),
        "named": len(named),
        "pct_1_to_10_words": _share(rows, (1 <= r.words <= MAX_WORDS for r in rows)),
        "pct_generic": _share(rows, (r.generic for r in rows)),
        "pct_with_a_generic_word": _share(rows, (r.has_generic_word for r in rows)),
        "pct_in_language": _share(rows, (r.in_language for r in rows)),
        "median_words": statistics.median(r.words for r in named) if named else 0,
        "pct_1_or_2_words": _share(rows, (1 <= r.words <= 2 for r in rows)),
        "pct_verbatim_prefix": _share(rows, (r.verbatim_prefix for r in rows)),
        "p50_ms": _percentile([r.ms for r in rows], 0.50),
        "p95_ms": _percentile([r.ms for r in rows], 0.95),
    }


def sample(rows: Sequence[Named], size: int, seed: int) -> list[Named]:
    """``size`` rows drawn at random (``random.Random(seed)``), in file order."""
    picked = random.Random(seed).sample(range(len(rows)), min(size, len(rows)))
    return [rows[i] for i in sorted(picked)]


LANGUAGE_RULE = (
    "in language: the name's script is the user's script (kana and Chinese characters as one); "
    "names under 3 words or 16 letters, and names at least half made of the user's own words, "
    "are judged by script alone (a detector cannot read a few words); any other name also "
    "fails if the detector reads another language with confidence >= 0.6 and the "
    "conversation's under a tenth of that."
)


def render(result: dict[str, Any], picked: Sequence[Named]) -> str:
    """The report as text: the measures, how language is judged, then the sample."""
    lines = [f"{key:>26}: {value}" for key, value in result.items()]
    lines += ["", LANGUAGE_RULE, "", f"sample of {len(picked)} (first message -> name):"]
    for row in picked:
        message = " ".join(row.first_message.split())[:90]
        flags = "".join(
            flag
            for flag, on in (
                ("P", row.verbatim_prefix),
                ("L", not row.in_language),
                ("G", row.generic),
            )
            if on
        )
        lines.append(f"- {message!r}\n  -> {row.name!r} [{row.language}] {flags}".rstrip())
    return "\n".join(lines)


def as_json(result: dict[str, Any], picked: Sequence[Named]) -> dict[str, Any]:
    """The report as one JSON-ready object: ``{"measures": ..., "sample": [...]}``."""
    return {
        "measures": result,
        "language_rule": LANGUAGE_RULE,
        "sample": [asdict(r) for r in picked],
    }
