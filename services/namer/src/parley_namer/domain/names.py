"""Rules for session names: what a name may look like and what a namer may read.

A session name is a short, single-line title for a conversation, made from its
first exchanges. These rules are independent of how a candidate name is made.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

GENERIC_WORDS: frozenset[str] = frozenset({"test", "hello", "hi", "hey", "greeting", "greetings"})
"""Words that say nothing about a conversation; never part of a name (compared case-folded)."""

MAX_WORDS = 10
"""Most words (whitespace-separated) a name may have."""

MAX_INPUT_CHARS = 500
"""Each turn is cut to this many characters before a namer reads it."""

MAX_EXCHANGES = 3
"""A namer reads at most this many exchanges (user turn + assistant turn) from the start."""


@dataclass(frozen=True)
class Turn:
    """One message of a conversation.

    ``role`` is ``"user"`` or ``"assistant"``; ``content`` is the message text. The
    content is data to name, never instructions to follow.
    """

    role: str
    content: str


_QUOTES = (
    "\"'`\u00ab\u00bb\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2039\u203a"
    "\u300c\u300d\u300e\u300f\u301d\u301e\u301f\uff02\uff07\uff62\uff63"
)
_APOSTROPHES = "'\u2019"
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_MARKUP = re.compile(r"[*#`~|]")
_UNDERSCORES = re.compile(r"_+")


def _is_edge_junk(ch: str) -> bool:
    """True for punctuation, symbols (``+`` excepted: C++) and spaces."""
    return ch.isspace() or (unicodedata.category(ch)[0] in "PS" and ch != "+")


def _strip_quotes(text: str) -> str:
    """Remove every quote character; keep an apostrophe only between two letters (it's, l'eau)."""
    out = []
    for i, ch in enumerate(text):
        if ch in _APOSTROPHES:
            before = text[i - 1] if i > 0 else ""
            after = text[i + 1] if i + 1 < len(text) else ""
            if before.isalpha() and after.isalpha():
                out.append(ch)
            continue
        if ch in _QUOTES:
            continue
        out.append(ch)
    return "".join(out)


def _is_generic(word: str) -> bool:
    core = "".join(ch for ch in word if not _is_edge_junk(ch))
    return core.casefold() in GENERIC_WORDS


def clean_name(raw: str) -> str | None:
    """Normalise a candidate session name; ``None`` when nothing meaningful is left.

    Removes markdown and markup (``*``, ``_``, backticks, ``#``, ``~``, ``|``, HTML-like
    ``<tags>``, links keep their text, bare URLs go), every kind of quote (ASCII and
    typographic, ``« »``, ``「 」`` …; an apostrophe between two letters stays), leading
    and trailing punctuation and symbols; collapses all whitespace (newlines included)
    to single spaces; drops the words of :data:`GENERIC_WORDS` (whole words,
    case-insensitive); keeps at most :data:`MAX_WORDS` words.

    Returns a single-line string, or ``None`` when the result is empty or holds no
    letter (only generic words, punctuation or digits). Raises nothing.
    """
    text = _MD_LINK.sub(r"\1", raw)
    text = _URL.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = _MARKUP.sub("", text)
    text = _UNDERSCORES.sub(" ", text)
    text = _strip_quotes(text)
    words = [w for w in text.split() if not _is_generic(w)]
    text = " ".join(words[:MAX_WORDS])
    start, end = 0, len(text)
    while start < end and _is_edge_junk(text[start]):
        start += 1
    while end > start and _is_edge_junk(text[end - 1]):
        if text[end - 1] == ")" and text[start:end].count("(") >= text[start:end].count(")"):
            break
        end -= 1
    text = text[start:end]
    if not any(ch.isalpha() for ch in text):
        return None
    return text


def prepare_turns(turns: Sequence[Turn]) -> list[Turn]:
    """The part of a conversation a namer reads.

    Keeps the first ``MAX_EXCHANGES * 2`` turns, in order, each content cut to its
    first :data:`MAX_INPUT_CHARS` characters. Roles are kept as given. Raises nothing.
    """
    return [
        Turn(role=t.role, content=t.content[:MAX_INPUT_CHARS]) for t in turns[: MAX_EXCHANGES * 2]
    ]
