"""How a name is spelled: Title Case in English, the conversation's own spellings kept."""

from __future__ import annotations

import re
from collections import Counter

ENGLISH_MINOR_WORDS = frozenset(
    "a about an and as at but by for from in into nor of on or per the to vs via with".split()
)
"""Words English Title Case leaves in lower case (unless first)."""

_TOKEN = re.compile(r"[^\W_][\w.+#-]*[\w+#]|[^\W_]")


def shouting(text: str) -> bool:
    """Mostly upper-case text, whose capitals say nothing about names or acronyms."""
    upper = sum(map(str.isupper, text))  # a character is upper case, lower case or neither
    cased = upper + sum(map(str.islower, text))
    return cased >= 20 and upper > 0.6 * cased


def restore_case(name: str, text: str) -> str:
    """Spell a lower-case word in mixed case or as a short acronym when ``text`` does so at least
    as often as in lower case (``argocd`` -> ``ArgoCD``), and an upper-case word in lower case
    when ``text`` mostly does."""
    wanted = {word.casefold() for word in name.split()}
    forms: dict[str, Counter[str]] = {}
    for token in _TOKEN.findall(text):
        if token.casefold() not in wanted:
            continue  # only the spellings of the name's words are looked at
        mixed = token[1:] != token[1:].lower() and token != token.upper()
        acronym = token == token.upper() and 2 <= len(token) <= 5
        if mixed or acronym or token == token.lower():
            forms.setdefault(token.casefold(), Counter())[token] += 1
    words = []
    for word in name.split():
        seen = forms.get(word.casefold(), Counter())
        lower = seen[word.lower()]
        special = [(n, form) for form, n in seen.items() if form != word.lower()]
        if word == word.lower() and special and max(special)[0] >= lower:
            word = max(special)[1]
        elif len(word) > 1 and word == word.upper() and lower > seen[word]:
            word = word.lower()
        words.append(word)
    return " ".join(words)


def unshouted(name: str) -> str:
    """``name`` in lower case when it is shouted: two words or more, all in capitals, one of
    them longer than an acronym ("ΠΟΙΟΤΙΚΟ ΠΟΙΗΜΑ", "CÁCH DÙNG CHI TIẾT"); else unchanged."""
    words = name.split()
    cased = [w for w in words if any(ch.isalpha() for ch in w)]
    if len(cased) >= 2 and all(w == w.upper() for w in cased) and max(map(len, cased)) > 5:
        return name.lower()
    return name


def capitalise(name: str, language: str | None) -> str:
    """Title Case for English (minor words lower case), else upper-case first letter only.
    A word already in mixed case (``iPhone``, ``macOS``) keeps its spelling."""
    words = name.split(" ")

    def upper_first(word: str) -> str:
        if word[1:] != word[1:].lower() and word[:1].islower():
            return word
        return word[:1].upper() + word[1:]

    if language == "en":
        words = [
            w if (i > 0 and w.lower() in ENGLISH_MINOR_WORDS) else upper_first(w)
            for i, w in enumerate(words)
        ]
    elif words:
        words[0] = upper_first(words[0])
    return " ".join(words)
