"""Writing systems of text: which script a character or a text is in.

The script of a character is the first word of its Unicode name (``LATIN``, ``CYRILLIC``,
``CJK``, ``HIRAGANA`` ...), from the standard library's Unicode database.
"""

from __future__ import annotations

import functools
import unicodedata
from collections import Counter

UNSPACED_SCRIPTS = frozenset({"CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR"})
"""Scripts whose words are not separated by spaces."""

UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my"})
"""Languages written without spaces between words (ISO 639-1)."""


@functools.lru_cache(maxsize=4096)
def script(ch: str) -> str:
    """First word of the character's Unicode name (LATIN, CYRILLIC, CJK, ...); ``""`` if unnamed.
    Memoised per character: a text is read character by character, many times per name."""
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


def is_unspaced(ch: str) -> bool:
    """True for a letter of a script written without spaces."""
    return ch.isalpha() and script(ch) in UNSPACED_SCRIPTS


def main_script(text: str) -> str:
    """Script of most of the text's words; a character of a script without spaces counts as a
    short word (a third of a Latin word's letters). ``""`` for text without letters."""
    counts = Counter(map(script, filter(str.isalpha, text)))  # in order of first appearance
    for name in counts.keys() & UNSPACED_SCRIPTS:
        counts[name] *= 3
    return counts.most_common(1)[0][0] if counts else ""


def has_script(phrase: str, name: str) -> bool:
    """Whether ``phrase`` holds a letter of script ``name`` (always true for ``""``)."""
    return not name or any(script(ch) == name for ch in phrase if ch.isalpha())


def letters(text: str) -> int:
    """Number of letters in ``text``."""
    return sum(map(str.isalpha, text))
