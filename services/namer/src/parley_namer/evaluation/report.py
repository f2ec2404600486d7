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
    word_count,
)
from parley_namer.domain.naming.ports import LanguageDetector, WordSegmenter
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
    cpu_ms: float
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
    segmenter: WordSegmenter,
) -> list[Named]:
    """Name every conversation (timed, after one warm-up call) and judge each name."""
    rows = []
    warmed = False
    for conversation in conversations:
        turns = prepare_turns(conversation.turns)
        if not warmed:
            namer.propose_with_language(turns)
            warmed = True
        started, cpu_started = time.perf_counter(), time.thread_time()
        name, _ = namer.propose_with_language(turns)
        ms = (time.perf_counter() - started) * 1000
        cpu_ms = (time.thread_time() - cpu_started) * 1000
        raw_user = "\n".join(t.content for t in turns if t.role == "user")
        user = prose(raw_user)
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
                cpu_ms=cpu_ms,
                words=word_count(text, segmenter, language) if name else 0,
                generic=name is None or is_generic_name(text),
                has_generic_word=any(
                    w.strip(".,!?:;").casefold() in GENERIC_WORDS for w in text.split()
                ),
                in_language=name is not None
                and in_language(text, language, user, detector, said=raw_user),
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
    """The measures of issue 8 over the names made, in percent (a conversation left unnamed,
    such as a greeting alone, is counted in ``unnamed`` and retried later by the service),
    median words of the names, and latency in ms over every call (nearest-rank p50 and p95):
    wall-clock time, and the CPU time of the calling thread, which does not count waiting for
    a core on a busy machine (the namer runs synchronously in one thread)."""
    named = [r for r in rows if r.name is not None]
    return {
        "conversations": len(rows),
        "named": len(named),
        "unnamed": len(rows) - len(named),
        "pct_1_to_10_words": _share(named, (1 <= r.words <= MAX_WORDS for r in named)),
        "pct_generic": _share(named, (r.generic for r in named)),
        "pct_with_a_generic_word": _share(named, (r.has_generic_word for r in named)),
        "pct_in_language": _share(named, (r.in_language for r in named)),
        "median_words": statistics.median(r.words for r in named) if named else 0,
        "pct_1_or_2_words": _share(named, (1 <= r.words <= 2 for r in named)),
        "pct_verbatim_prefix": _share(named, (r.verbatim_prefix for r in named)),
        "p50_ms": _percentile([r.ms for r in rows], 0.50),
        "p95_ms": _percentile([r.ms for r in rows], 0.95),
        "cpu_p50_ms": _percentile([r.cpu_ms for r in rows], 0.50),
        "cpu_p95_ms": _percentile([r.cpu_ms for r in rows], 0.95),
    }


def sample(rows: Sequence[Named], size: int, seed: int) -> list[Named]:
    """``size`` of the named rows drawn at random (``random.Random(seed)``), in file order
    (the unnamed ones are listed apart)."""
    named = [r for r in rows if r.name is not None]
    picked = random.Random(seed).sample(range(len(named)), min(size, len(named)))
    return [named[i] for i in sorted(picked)]


SHARES_RULE = (
    "shares are of the names made; a conversation with nothing to name yet (a greeting "
    "alone) is 'unnamed' and named by the service after a later message. Words are counted "
    "between spaces, or as the word segmenter cuts a name in Chinese, Japanese or Thai."
)

LANGUAGE_RULE = (
    "in language: the name's script is the user's script (kana and Chinese characters as one); "
    "names under 3 words or 16 letters, and names at least half made of the user's own words, "
    "are judged by script alone (a detector cannot read a few words); any other name also "
    "fails if the detector reads another language with confidence >= 0.6 and the "
    "conversation's under a tenth of that."
)


def render(result: dict[str, Any], picked: Sequence[Named], rows: Sequence[Named]) -> str:
    """The report as text: the measures, how language is judged, then the sample."""
    lines = [f"{key:>26}: {value}" for key, value in result.items()]
    lines += [
        "",
        SHARES_RULE,
        LANGUAGE_RULE,
        "",
        f"sample of {len(picked)} (first message -> name):",
    ]
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
    unnamed = [" ".join(r.first_message.split())[:90] for r in rows if r.name is None]
    if unnamed:
        lines += ["", "unnamed (first message):", *(f"- {m!r}" for m in unnamed)]
    return "\n".join(lines)


def as_json(
    result: dict[str, Any], picked: Sequence[Named], rows: Sequence[Named]
) -> dict[str, Any]:
    """The report as one JSON-ready object: ``{"measures", "rules", "unnamed", "sample"}``."""
    return {
        "measures": result,
        "rules": [SHARES_RULE, LANGUAGE_RULE],
        "unnamed": [" ".join(r.first_message.split())[:200] for r in rows if r.name is None],
        "sample": [asdict(r) for r in picked],
    }
