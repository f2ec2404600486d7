"""What a request is about: the words after its opening ("Can you write me a ...") and before
its next clause, in the sentence that asks something (role-play and preambles skipped)."""

from __future__ import annotations

import re

from .lexicon import BOUNDARY_WORDS, FILLER_WORDS, LEAD_NOUNS_OF, LEAD_WORDS, PREAMBLES

MAX_TOPIC_WORDS = 6
"""Most words of a topic taken from a request."""

_SENTENCES = re.compile(r"(?<=[.!?？。])\s+|\n+|;\s+")
_LABEL = re.compile(r"^[\w ]{1,24}:\s+")  # "Title: ...", "Question 1: ..."
_PREPOSITIONS = frozenset("of in for on with to about from by at into over under".split())

_PREAMBLE = re.compile(rf"^(?:{PREAMBLES})", re.IGNORECASE)
_TASK_AFTER = re.compile(
    r"\b(?:and|then|to)\s+(?:then\s+)?(?=(?:write|create|give|provide|tell|explain|generate|make"
    r"|help|suggest|design|draft|compose|answer|list|describe|come)\b)",
    re.IGNORECASE,
)
_EDGE = re.compile(r"^[^\w#+.]+|[^\w#+)]+$")
_MAX_SENTENCES = 6


def _bare(word: str) -> str:
    return _EDGE.sub("", word).casefold()


_SUBJECTS = frozenset("i we i'm i've i'd my our im ive".split())
_DETERMINERS = frozenset("a an the my our some this these".split())


def _strip_lead(words: list[str]) -> list[str]:
    """``words`` after the opening of a request (lead words, "list of" ...); a sentence that
    starts with its subject ("I run a blog ...") starts after its first determiner."""
    i = 0
    if words and _bare(words[0]) in _SUBJECTS:
        for j, word in enumerate(words[1:6], start=1):
            if _bare(word) in _DETERMINERS:
                i = j + 1
                break
    while i < len(words):
        bare = _bare(words[i])
        if bare in LEAD_WORDS or not bare:
            i += 1
        elif bare in LEAD_NOUNS_OF and i + 1 < len(words) and _bare(words[i + 1]) == "of":
            i += 2
        elif bare == "of" and i > 0:
            i += 1
        else:
            break
    return words[i:]


def _until_boundary(words: list[str], stopwords: frozenset[str]) -> list[str]:
    """The words before the next clause: a boundary word, a comma or sentence mark after a
    word, "and"/"or" before a request verb or a pronoun; at most :data:`MAX_TOPIC_WORDS`."""
    kept: list[str] = []
    for i, word in enumerate(words):
        bare = _bare(word)
        relative = bare in {"that", "which", "who"} and len(kept) <= 2
        if kept and bare in BOUNDARY_WORDS and not relative:
            break
        if kept and bare in {"and", "or", "y", "et", "und", "e", "и"}:
            following = _bare(words[i + 1]) if i + 1 < len(words) else ""
            if following in LEAD_WORDS or following in BOUNDARY_WORDS or not following:
                break
        kept.append(word)
        if re.search(r"[,;:!?)(\"]$|[.]$", word) or len(kept) > MAX_TOPIC_WORDS:
            break
    if len(kept) > MAX_TOPIC_WORDS:
        cuts = [j for j in range(2, MAX_TOPIC_WORDS + 1) if _bare(kept[j]) in _PREPOSITIONS]
        kept = kept[: cuts[-1]] if cuts else kept[:MAX_TOPIC_WORDS]
    return kept


def _trim_tail(words: list[str], stopwords: frozenset[str]) -> list[str]:
    """``words`` without stopwords, request words, symbols or an English participle
    ("dedicated", "announcing") at their end."""
    while len(words) > 1 and _dangling(words):
        words = words[:-1]
    while words and (
        _bare(words[-1]) in stopwords
        or _bare(words[-1]) in LEAD_WORDS
        or _bare(words[-1]) in FILLER_WORDS
        or not any(ch.isalnum() for ch in words[-1])
    ):
        words = words[:-1]
    return words


def _dangling(words: list[str]) -> bool:
    last = _bare(words[-1])
    if len(words) >= 2 and len(last) > 4 and last.endswith("ed") and not last.endswith("eed"):
        return True
    return len(words) >= 3 and last.endswith("ing") and _bare(words[-2]) not in _PREPOSITIONS


def topic(text: str, stopwords: frozenset[str]) -> str | None:
    """The topic of a request written with spaces between words, in its own words, or None.

    Sentences are read in order (at most 6); one that sets a role or announces material
    ("You are a ...", "Act as ...", "Ignore ...", "Here is ...", :data:`~.lexicon.PREAMBLES`)
    is skipped unless it goes on to a task ("Act as a chef and write a menu" gives "menu").
    In the first sentence left, the opening of the request is removed (:data:`~.lexicon.
    LEAD_WORDS`: "Can you please write me a"), then the words up to the next clause are kept
    (:data:`~.lexicon.BOUNDARY_WORDS`, punctuation, at most 6 words) without stopwords at
    their end. None when no sentence has a word that is not a stopword.
    """
    for sentence in _SENTENCES.split(text.strip())[:_MAX_SENTENCES]:
        sentence = _LABEL.sub("", sentence.strip(), count=1)
        preamble = _PREAMBLE.match(sentence)
        if preamble is not None:
            task = _TASK_AFTER.search(sentence, preamble.end())
            if task is None:
                continue
            sentence = sentence[task.end() :]
        words = _trim_tail(_until_boundary(_strip_lead(sentence.split()), stopwords), stopwords)
        if any(_bare(w) not in stopwords and any(ch.isalpha() for ch in w) for w in words):
            return " ".join(w.rstrip(',;:!?."') for w in words)
    return None
