"""Names in scripts written without spaces (Chinese, Japanese, Thai ...): the first meaningful
clause of the user's first message, cut on a word boundary given by a word segmenter."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .lexicon import (
    GREETINGS,
    PREAMBLES_UNSPACED,
    UNSPACED_LEAD_WORDS,
    UNSPACED_PREFIXES,
    UNSPACED_TAIL_WORDS,
)
from .ports import WordSegmenter
from .prose import prose
from .scripts import has_script

TITLE_CHARS = 16
"""Most characters of a name made of a clause in a script without spaces."""

_PREAMBLE = re.compile(rf"^(?:{PREAMBLES_UNSPACED})")
_LABEL = re.compile(r"^(?:题目描述|问题描述|题目|描述|问题)\s*")
_QUOTED_ROLE = re.compile(r"[”“\"「『]([^”“\"「」『』\n]{2,16})[”“\"」』]")
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
    :data:`TITLE_CHARS` characters on a word boundary. A clause that sets a role ("你是一名…")
    is skipped, unless it quotes the role's name (あなたは「藍崎ありあ」というキャラクター…:
    藍崎ありあ, the character played); the request's opening and closing words (写, 一首, 请, 吗 ...) are removed
    with the segmenter's words. Empty when there is none."""
    for content in user_contents:
        for clause in _CLAUSE_END.split(prose(content)):
            clause = _LABEL.sub("", clause.strip())
            if clause in GREETINGS or len(clause) < 2 or not has_script(clause, script):
                continue
            if _PREAMBLE.match(clause):
                role = _QUOTED_ROLE.search(clause)  # あなたは「X」というキャラクター: X
                if role is not None and usable(role.group(1).strip()):
                    return cut_words(role.group(1).strip(), TITLE_CHARS, language, segmenter)
                continue
            for prefix in UNSPACED_PREFIXES:
                if clause.startswith(prefix) and len(clause) > len(prefix) + 1:
                    clause = clause[len(prefix) :]
                    break
            clause = _request_removed(clause, language, segmenter)
            if usable(clause):
                return cut_words(clause, TITLE_CHARS, language, segmenter)
    return ""


def _request_removed(clause: str, language: str | None, segmenter: WordSegmenter) -> str:
    """``clause`` without its opening request words and closing particles, unless that leaves
    fewer than two characters."""
    words = segmenter.words(clause, language)
    start, end = 0, len(words)
    while start < end and (
        words[start].strip() in UNSPACED_LEAD_WORDS
        or not any(ch.isalpha() for ch in words[start])  # "3." numbering, spaces, marks
    ):
        start += 1
    while end > start and (
        words[end - 1].strip() in UNSPACED_TAIL_WORDS or not words[end - 1].strip()
    ):
        end -= 1
    kept = "".join(words[start:end]).strip()
    return kept if len(kept) >= 2 else clause


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
