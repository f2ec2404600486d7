"""Fit any text into the limits of a session name, by construction.

A name is one line of at most :data:`MAX_WORDS` words and :data:`MAX_NAME_CHARS` characters
(the limit of the ``session.named`` contract and of the session's column).
"""

from __future__ import annotations

import unicodedata

MAX_WORDS = 10
"""Most words (whitespace-separated) a name may have."""

MAX_NAME_CHARS = 200
"""Most characters a name may have."""

_JOINING = frozenset({"\u200c", "\u200d"})  # zero-width non-joiner and joiner


def _continues(ch: str) -> bool:
    """True for a character that belongs to the one before it (combining marks, variation
    selectors, joiners): a cut must not fall just before it."""
    return (
        ch in _JOINING
        or unicodedata.category(ch) in {"Mn", "Mc", "Me"}
        or ("\ufe00" <= ch <= "\ufe0f")
    )


def cut_chars(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, never between a letter and its combining
    marks; on the last space when one falls in the second half of the allowance (a word is not
    cut in two where avoidable). ``limit`` must be positive. Raises nothing."""
    if len(text) <= limit:
        return text
    space = text.rfind(" ", 0, limit + 1)
    if space > limit // 2:
        return text[:space].rstrip()
    end = limit
    while end > 0 and _continues(text[end]):
        end -= 1
    return text[: end or limit].rstrip()


def fit_name(text: str, max_words: int = MAX_WORDS, max_chars: int = MAX_NAME_CHARS) -> str:
    """``text`` as one line within the name limits.

    All whitespace (newlines, tabs, runs of spaces) becomes single spaces; the first
    ``max_words`` words are kept; then the text is cut to ``max_chars`` characters on a word
    boundary where one falls in the second half of the allowance, else between characters
    (a single 250-letter word keeps its first 200), never splitting a letter from its
    combining marks. The result may be empty only when ``text`` holds no visible character.
    Raises nothing.
    """
    words = text.split()[:max_words]
    return cut_chars(" ".join(words), max_chars)
