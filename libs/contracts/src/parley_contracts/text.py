"""Text every service can store: PostgreSQL ``text`` holds neither the NUL character nor a lone
UTF-16 surrogate (which has no UTF-8 form). A caller's text with either is refused at the HTTP
edge; text from elsewhere (an upstream AI's reply) is made storable before any service keeps it.
"""

from __future__ import annotations

import re

#: A NUL character or a lone surrogate (U+D800 to U+DFFF, never valid in a Python str of text).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

#: What :func:`storable` puts in place of each unstorable character.
REPLACEMENT = "\ufffd"


def unstorable_reason(text: str) -> str | None:
    """Why ``text`` cannot be stored (a sentence for a 422 problem), or None when it can."""
    if "\x00" in text:
        return "must not contain a NUL character"
    if _UNSTORABLE.search(text):
        return "must be valid Unicode text (no lone surrogates)"
    return None


def storable(text: str) -> str:
    """``text`` with each NUL character and lone surrogate replaced by U+FFFD (the Unicode
    replacement character); the text itself when it has none (no copy)."""
    return _UNSTORABLE.sub(REPLACEMENT, text) if _UNSTORABLE.search(text) else text
