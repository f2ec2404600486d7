"""Names in scripts written without spaces (Chinese, Japanese, Thai ...): the first meaningful
clause of the user's first message, cut on a word boundary given by a word segmenter."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .lexicon import GREETINGS, UNSPACED_PREFIXES
from .ports import WordSegmenter
from .prose import prose
from .scripts import has_script, is_unspaced

TITLE_CHARS = 16
"""Most characters of a name made of a clause in a script without spaces."""

_CLAUSE_END = re.compile(r"[。！？!?；;，,：:、\n]+|\.(?:\s|$)")


def first_clause(
    user_contents: Sequence[str],
    script: str,
    language: str | None,
    segmenter: WordSegmenter,
    usable: Callable[[str], bool],
) -> str:
    """First clause of the user's messages that is in ``script``, is not a greeting and is
    ``usable`` (cleans to a name), its polite opening removed (请帮我 ...), cut to at most
    :data:`TITLE_CHARS` characters on a word boundary. Empty when there is none."""
    for content in user_contents:
        for clause in _CLAUSE_END.split(prose(content)):
            clause = clause.strip()
            if clause in GREETINGS or len(clause) < 2 or not has_script(clause, script):
                continue
            for prefix in UNSPACED_PREFIXES:
                if clause.startswith(prefix) and len(clause) > len(prefix) + 1:
                    clause = clause[len(prefix) :]
                    break
            if usable(clause):
                return cut_words(clause, TITLE_CHARS, language, segmenter)
    return ""


def cut_words(text: str, limit: int, language: str | None, segmenter: WordSegmenter) -> str:
    """The longest run of ``text``'s first words within ``limit`` characters (never a word cut
    in two, unless the first word alone is longer than ``limit``)."""
    if len(text) <= limit:
        return text
    out = ""
    for word in segmenter.words(text, language):
        if len(out) + len(word) > limit:
            break
        out += word
    if not out.strip():
        out = text[:limit]
    return out.rstrip()


def unspaced_share(text: str) -> float:
    """Share of the letters of ``text`` in scripts written without spaces (0.0 without letters)."""
    letters = [ch for ch in text if ch.isalpha()]
    return sum(is_unspaced(ch) for ch in letters) / len(letters) if letters else 0.0
