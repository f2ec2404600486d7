"""Writing systems of text: which script a character or a text is in.

The script of a character is the first word of its Unicode name (``LATIN``, ``CYRILLIC``,
``CJK``, ``HIRAGANA`` ...), from the standard library's Unicode database.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

UNSPACED_SCRIPTS = frozenset({"CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR"})
"""Scripts whose words are not separated by spaces."""

UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my"})
"""Languages written without spaces between words (ISO 639-1)."""


def script(ch: str) -> str:
    """First word of the character's Unicode name (LATIN, CYRILLIC, CJK, ...); ``""`` if unnamed."""
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


def is_unspaced(ch: str) -> bool:
    """True for a letter of a script written without spaces."""
    return ch.isalpha() and script(ch) in UNSPACED_SCRIPTS


def main_script(text: str) -> str:
    """Script of most of the text's words; a character of a script without spaces counts as a
    short word (a third of a Latin word's letters). ``""`` for text without letters."""
    counts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha():
            name = script(ch)
            counts[name] += 3 if name in UNSPACED_SCRIPTS else 1
    return counts.most_common(1)[0][0] if counts else ""


def has_script(phrase: str, name: str) -> bool:
    """Whether ``phrase`` holds a letter of script ``name`` (always true for ``""``)."""
    return not name or any(script(ch) == name for ch in phrase if ch.isalpha())


def letters(text: str) -> int:
    """Number of letters in ``text``."""
    return sum(ch.isalpha() for ch in text)
