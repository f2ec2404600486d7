"""Choosing a name among scored keyphrases (lower score is better, as YAKE gives them)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .fitting import MAX_WORDS
from .lexicon import CONNECTORS, FILLER_WORDS, JOINERS
from .prose import position
from .scripts import has_script

MAX_TITLE_WORDS = 6
"""Longest name made of keyphrases, in words."""

_NEAR_BEST = 1.1
_SUPERSET_RANK = 5
_MAX_GAP_WORDS = 3

Scored = list[tuple[str, float]]


def filter_phrases(
    raw: Iterable[tuple[str, float]],
    stopwords: frozenset[str],
    generic: frozenset[str],
    language: str | None,
) -> Scored:
    """Keyphrases fit for a title, best first.

    Request words at the edges ("explain", "write") are trimmed, and in English a trailing
    participle ("press release announcing"). A phrase is dropped when it then starts or ends with
    a stopword or a generic word, holds a stopword other than a connector ("of", "de", ...),
    repeats a word, is a single character or holds no letter. Duplicates keep their best score.
    """
    scored: dict[str, tuple[float, int, int, str]] = {}
    for phrase, score in raw:
        words = phrase.split()
        if words and words[0].casefold() in FILLER_WORDS:
            words.pop(0)
        if words and words[-1].casefold() in FILLER_WORDS:
            words.pop()
        if language == "en" and dangling_verb([w.casefold() for w in words]):
            words.pop()
        lowered = [w.casefold() for w in words]
        edge = stopwords | FILLER_WORDS | generic
        if (
            not lowered
            or lowered[0] in edge
            or lowered[-1] in edge
            or any(w in stopwords and w not in CONNECTORS for w in lowered[1:-1])
            or len(set(lowered)) < len(lowered)
            or (len(words) == 1 and len(words[0]) < 2)
            or not any(ch.isalpha() for ch in phrase)
        ):
            continue
        key = " ".join(lowered)
        rank = (float(score), sum(w in stopwords for w in lowered), -len(words))
        if key not in scored or rank < scored[key][:3]:
            scored[key] = (*rank, " ".join(words))
    return [(phrase, score) for score, _, _, phrase in sorted(scored.values())]


def dangling_verb(words: list[str]) -> bool:
    """English phrase ending in a participle ("press release announcing", "parameter called")."""
    if not words:
        return False
    last = words[-1]
    if len(words) >= 2 and len(last) > 4 and last.endswith("ed") and not last.endswith("eed"):
        return True
    return len(words) >= 3 and last.endswith("ing")


def best_phrase(phrases: Scored, script: str, text: str) -> tuple[str, float]:
    """The earliest in ``text`` (flat) of the near-best phrases in ``script`` (any script if
    none), grown into a longer top phrase that holds it; with its score. ``phrases`` must not
    be empty."""
    pool = [(p, s) for p, s in phrases if has_script(p, script)] or phrases
    limit = pool[0][1] * _NEAR_BEST
    best, score = min(((p, s) for p, s in pool if s <= limit), key=lambda ps: position(text, ps[0]))
    for longer, longer_score in phrases[:_SUPERSET_RANK]:
        if len(best.split()) < len(longer.split()) < MAX_TITLE_WORDS and (
            f" {best.casefold()} " in f" {longer.casefold()} "
        ):
            return longer, longer_score
    return best, score


def completed(word: str, others: list[str], script: str, text: str) -> str:
    """``word`` and the first of ``others`` that shares no word with it, in ``text`` order."""
    for other in others:
        words = other.casefold().split()
        if len(words) >= MAX_TITLE_WORDS or not has_script(other, script):
            continue
        if any(w in word.casefold() or word.casefold() in w for w in words):
            continue
        return " ".join(sorted([word, other], key=lambda p: position(text, p)))
    return word


def span(text: str, a: str, b: str) -> str | None:
    """The stretch of ``text`` from phrase ``a`` to phrase ``b`` (either order) when only 0-3
    joining words ("for a") stand between them and it has at most 6 words."""
    for left, right in ((a, b), (b, a)):
        pattern = (
            rf"(?<!\w){_loose(left)}(?P<gap>(?:\s+[^\W\d_][\w'-]*){{0,{_MAX_GAP_WORDS}}}?)"
            rf"\s+{_loose(right)}(?!\w)"
        )
        for match in re.finditer(pattern, text, re.IGNORECASE):
            gap = match.group("gap").casefold().split()
            found = match.group(0)
            if all(w in JOINERS for w in gap) and len(found.split()) <= MAX_TITLE_WORDS:
                return " ".join(found.split())
    return None


def _loose(phrase: str) -> str:
    """Regex for ``phrase`` with any run of whitespace between its words."""
    return r"\s+".join(re.escape(w) for w in phrase.split()[:MAX_WORDS])
