"""Judging a name against its conversation: its language, and whether it was cut from the text.

Used by the evaluation of a namer and available to any namer that checks a candidate name.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .code import identifier_words
from .ports import LanguageDetector, WordSegmenter
from .scripts import UNSPACED_SCRIPTS, is_unspaced, letters, main_script

SHORT_NAME_WORDS = 3
"""A name of fewer words than this is judged by its script alone."""

SHORT_NAME_LETTERS = 16
"""A name of fewer letters than this is judged by its script alone."""

CONFIDENT = 0.6
"""The detector's confidence from which its reading of a name counts against the script."""

VOTERS = 6
"""How many of the detector's most likely languages take part in the function-word vote."""

_ENGLISH_NON_ASCII = 0.02

ALWAYS_VOTES = "en"
"""A language that takes part in every vote: lingua's low-accuracy mode often ranks English
low on a few words ("Compare Python vs. Go for web servers": Catalan, French, ...)."""

SHORT_TEXT_LETTERS = 120
"""Below this many letters, the user's text is read with the replies to tell its language."""

STEM_LETTERS = 5
"""Letters two words must share at their start to count as forms of one word."""

_SCRIPT_FAMILIES = {"HIRAGANA": "CJK", "KATAKANA": "CJK"}
_NON_WORD = re.compile(r"[\W_]+")


def conversation_language(
    user_text: str,
    assistant_text: str,
    detector: LanguageDetector,
    function_words: Callable[[str], frozenset[str]],
) -> str | None:
    """The language of the user's text (ISO 639-1, or None). A text of fewer than
    :data:`SHORT_TEXT_LETTERS` letters is read together with the replies, and, still short,
    settled by a function-word vote: among the detector's :data:`VOTERS` most likely
    languages and English, the one whose function words (``function_words(code)``) cover
    strictly more of the text's words than the first's does wins ("Write a tongue twister about cats" is
    English, not French). The vote is held for scripts written with spaces, and English takes
    part only when nearly all letters are ASCII (not "Viết một bài hát"). Raises nothing."""
    text = user_text
    if letters(user_text) < SHORT_TEXT_LETTERS and assistant_text:
        text = f"{user_text}\n{assistant_text}"
    if letters(text) >= SHORT_TEXT_LETTERS:
        return detector.detect(text)
    ranked = detector.candidates(text)
    candidates = ranked[:VOTERS]
    if not candidates:
        return None
    if all(code != ALWAYS_VOTES for code, _ in candidates):
        candidates.append((ALWAYS_VOTES, 0.0))  # the most common language of chats
    if main_script(text) in UNSPACED_SCRIPTS:
        return candidates[0][0]  # words are not separated by spaces there
    latin = [ch for ch in text if ch.isalpha()]
    if sum(not ch.isascii() for ch in latin) > _ENGLISH_NON_ASCII * len(latin):
        candidates = [c for c in candidates if c[0] != ALWAYS_VOTES] or candidates  # "Viết"
    words = [w for w in _NON_WORD.split(text.casefold()) if w]
    vocabularies = [function_words(code) for code, _ in candidates]  # once per language
    hits = [sum(w in vocabulary for w in words) for vocabulary in vocabularies]
    best = max(range(len(candidates)), key=lambda i: (hits[i], -i))
    return candidates[best if hits[best] > hits[0] else 0][0]


def _stem(word: str) -> str:
    return word[:STEM_LETTERS]


def _family(script: str) -> str:
    return _SCRIPT_FAMILIES.get(script, script)


def is_short(name: str) -> bool:
    """Whether ``name`` is too short for a language detector to read (under 3 words or 16
    letters): such a name is judged by its script alone."""
    return len(name.split()) < SHORT_NAME_WORDS or sum(ch.isalpha() for ch in name) < (
        SHORT_NAME_LETTERS
    )


def in_language(
    name: str,
    language: str | None,
    conversation: str,
    detector: LanguageDetector,
    said: str | None = None,
) -> bool:
    """Whether ``name`` is in the conversation's language.

    Script first: the name's main script must be the main script of ``conversation`` (the
    user's text; kana and Chinese characters count as one family). A short name
    (:func:`is_short`) is judged by its script alone, and so is one made mostly of the user's
    own words (at least half of its words appear in ``conversation``): a detector cannot read
    two or three words reliably (a word counts as the user's when one of the user's words
    starts with the same :data:`STEM_LETTERS` letters: "operator", "operators"; ``said`` may
    add the user's raw text, code included, whose identifiers count word by word). Any other
    name fails when the detector is confident (:data:`CONFIDENT`) of another language and gives
    ``language`` under a tenth of that.
    Raises nothing.
    """
    if _family(main_script(name)) != _family(main_script(conversation)):
        return False
    if language is None or is_short(name):
        return True
    own = {
        _stem(part.casefold())
        for token in _NON_WORD.split(f"{conversation} {said or ''}")
        for part in [token, *identifier_words(token)]
    }
    words = [_stem(w) for w in _NON_WORD.split(name.casefold()) if w]
    if 2 * sum(w in own for w in words) >= len(words):
        return True
    detected = detector.detect(name)
    if detected is None or detected == language:
        return True
    top = detector.confidence(name, detected)
    return not (top >= CONFIDENT and detector.confidence(name, language) < top / 10)


def word_count(name: str, segmenter: WordSegmenter, language: str | None) -> int:
    """Words of ``name``: separated by spaces, or, for a name mostly in a script written
    without them (Chinese, Japanese, Thai), as the segmenter cuts it (punctuation and spaces
    not counted): "春天的诗" has three words (春天 / 的 / 诗)."""
    letters_ = [ch for ch in name if ch.isalpha()]
    if not letters_ or 2 * sum(is_unspaced(ch) for ch in letters_) < len(letters_):
        return len(name.split())
    return sum(1 for w in segmenter.words(name, language) if any(ch.isalnum() for ch in w))


def _normal(text: str) -> str:
    return " ".join(_NON_WORD.sub(" ", text.casefold()).split())


def is_verbatim_prefix(name: str, first_message: str) -> bool:
    """Whether ``name`` is the start of ``first_message`` word for word (case, punctuation
    and spacing ignored): a name cut from the text rather than made from it."""
    head, text = _normal(name), _normal(first_message)
    if not head:
        return False
    if is_unspaced(head[-1]):  # no space marks the end of a word there
        return text.startswith(head)
    return text == head or text.startswith(head + " ")
