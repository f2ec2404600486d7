"""Rules for session names: what a name may look like and what a namer may read.

A session name is a short, single-line title for a conversation, made from its
first exchanges. These rules are independent of how a candidate name is made.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from parley_contracts import NAMING_MAX_CHARS, NAMING_MAX_MESSAGES

from .naming.fitting import MAX_NAME_CHARS, MAX_WORDS, fit_name

GENERIC_WORDS: frozenset[str] = frozenset({"test", "hello", "hi", "hey", "greeting", "greetings"})
"""Words that say nothing about a conversation (compared case-folded): a name made only of them
is generic and refused; inside a real name ("Hello World in Rust", "Unit Test Fixtures") they
stay."""

GENERIC_TITLE_WORDS: frozenset[str] = GENERIC_WORDS | frozenset(
    "chat conversation question questions help request new untitled topic query task "
    "assistance session discussion message inquiry a an the my some about with".split()
)
"""Words of titles that name no topic ("New Chat", "A Question", "Help Request")."""

__all__ = [
    "GENERIC_TITLE_WORDS",
    "GENERIC_WORDS",
    "MAX_EXCHANGES",
    "MAX_INPUT_CHARS",
    "MAX_NAME_CHARS",
    "MAX_WORDS",
    "Turn",
    "clean_name",
    "fit_name",
    "is_generic_name",
    "kept_message",
    "prepare_turns",
]

MAX_INPUT_CHARS = NAMING_MAX_CHARS
"""Each turn is cut to this many characters before a namer reads it (the contracts' limit)."""

MAX_EXCHANGES = NAMING_MAX_MESSAGES // 2
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
_MARKUP = re.compile(r"[*`~|]|(?<![^\W\d_])#")  # C#, F# keep their sign
_UNDERSCORES = re.compile(r"_+")
_DOT_WORD = re.compile(r"\.[^\W\d_]{2,}")
_SHARP_END = re.compile(r"(?:^|\s)[^\W\d_]#$")


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


def _core(word: str) -> str:
    return "".join(ch for ch in word if not _is_edge_junk(ch)).casefold()


def _is_generic(word: str) -> bool:
    return _core(word) in GENERIC_WORDS


def is_generic_name(name: str) -> bool:
    """Whether ``name`` names no topic: every word of it is one of :data:`GENERIC_TITLE_WORDS`
    (case-folded, edge punctuation ignored), e.g. "Hello", "New Chat", "A Question"; a name
    without words is generic too. "Hello World Program" is not. Raises nothing."""
    return all(_core(w) in GENERIC_TITLE_WORDS or not _core(w) for w in name.split())


def _drop_greetings(words: list[str]) -> list[str]:
    """Words without a greeting at either edge ("Hello, ...", "... Hi!"): a generic word is
    dropped there when punctuation sets it apart from the rest, or when the name has nothing
    else. Generic words inside a name stay."""
    if all(_is_generic(w) for w in words):
        return []
    while len(words) > 1 and _is_generic(words[0]) and _is_edge_junk(words[0][-1]):
        words = words[1:]
    while len(words) > 1 and _is_generic(words[-1]) and _is_edge_junk(words[-2][-1]):
        words = words[:-1]
    return words


def clean_name(raw: str) -> str | None:
    """Normalise a candidate session name; ``None`` when nothing meaningful is left.

    Removes markdown and markup (``*``, ``_``, backticks, ``#`` unless after a letter as in
    ``C#``, ``~``, ``|``, HTML-like
    ``<tags>``, links keep their text, bare URLs go), every kind of quote (ASCII and
    typographic, ``« »``, ``「 」`` …; an apostrophe between two letters stays), leading
    and trailing punctuation and symbols; collapses all whitespace (newlines included)
    to single spaces; drops a greeting set apart by punctuation at either edge ("Hello, Rust
    lifetimes!" gives "Rust lifetimes"); then fits the limits (:func:`fit_name`: at most
    :data:`MAX_WORDS` words and :data:`MAX_NAME_CHARS` characters, cut on a word boundary where
    one is near).

    Returns a single-line string, or ``None`` when the result is empty, holds no letter, or is
    made only of generic words (:func:`is_generic_name`). Raises nothing.
    """
    text = _MD_LINK.sub(r"\1", raw)
    text = _URL.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = _MARKUP.sub("", text)
    text = _UNDERSCORES.sub(" ", text)
    text = _strip_quotes(text)
    text = fit_name(" ".join(_drop_greetings(text.split())))
    start, end = 0, len(text)
    while start < end and _is_edge_junk(text[start]):
        if _DOT_WORD.match(text, start) and (start == 0 or text[start - 1].isspace()):  # .NET
            break
        start += 1
    while end > start and _is_edge_junk(text[end - 1]):
        if text[end - 1] == ")" and text[start:end].count("(") >= text[start:end].count(")"):
            break
        if _SHARP_END.search(text, start, end):  # C#, F#
            break
        end -= 1
    text = text[start:end]
    if not any(ch.isalpha() for ch in text) or is_generic_name(text):
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


def kept_message(turn: int, role: str, content: str) -> tuple[int, Turn] | None:
    """``(turn, message)`` for a message of user turn ``turn`` that belongs to the first
    :data:`MAX_EXCHANGES` exchanges (what a namer may read later); None after them."""
    return (turn, Turn(role, content)) if turn <= MAX_EXCHANGES else None
