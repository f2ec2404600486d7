"""What a piece of code is about: the first function, class or type it defines, in words.

A message of code only ("const getSubscriptions = async () => ...") is named after what it
defines ("Get Subscriptions Function"), not after the tokens that happen to be frequent in it.
"""

from __future__ import annotations

import re

_DEFINITIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\b(?:def|function|func|fn|fun|sub|procedure)\s+([A-Za-z_]\w*)\s*[(<]"),
        "function",
    ),
    (re.compile(r"\bclass\s+([A-Za-z_]\w*)\s*(?:[({:<]|extends\b|implements\b)"), "class"),
    # "a js function getExpense takes ...": an identifier written as one after the word
    (re.compile(r"\bfunction\s+([a-z]+[A-Z]\w*|[a-z]+_\w+)\b"), "function"),
    (
        re.compile(r"\b(interface|struct|enum|trait)\s+([A-Za-z_]\w*)\s*(?:[({:<]|extends\b)"),
        "",
    ),
    (
        re.compile(
            r"\b(?:const|let|var)\s+([A-Za-z_]\w*)\s*=\s*(?:async\s*)?(?:\([^)]*\)\s*=>|function)"
        ),
        "function",
    ),
    (
        re.compile(
            r"\b(?:public|private|protected|static|internal)\s+(?:[\w<>\[\],.?]+\s+)+"
            r"([A-Za-z_]\w*)\s*\("
        ),
        "method",
    ),
)
CODE_KINDS = frozenset({"function", "class", "method", "script"})
"""Words naming what a definition is, added after its identifier ("... Function")."""

_TRIVIAL = frozenset(
    "main init __init__ constructor setup run test tests app index foo bar baz x y f g h".split()
)
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def identifier_words(identifier: str) -> list[str]:
    """``getSubscriptions`` -> ``["get", "Subscriptions"]``, ``parse_HTTP_header`` ->
    ``["parse", "HTTP", "header"]``: snake_case and camelCase split into words."""
    words: list[str] = []
    for part in identifier.split("_"):
        words += _CAMEL.findall(part)
    return words


def code_topic(text: str, imports: bool = True) -> str | None:
    """A name for what ``text``'s code defines first: the identifier in words with the kind of
    thing it is ("Phone Number Provider Class", "Calculate Balance Debt Function"), at most six
    words; when it defines nothing, and ``imports`` is true, the libraries it imports
    ("Multiprocessing Tkinter Script"); None otherwise."""
    found: list[tuple[int, str, str]] = []
    for pattern, kind in _DEFINITIONS:
        for match in pattern.finditer(text):
            name = match.group(match.lastindex or 1)
            label = kind or match.group(1)
            if name.casefold() not in _TRIVIAL and len(name) > 2:
                found.append((match.start(), name, label))
                break
    if not found:
        return _imports_topic(text) if imports else None
    _, name, kind = min(found)
    words = identifier_words(name)[:5]
    if not words:
        return None
    if kind and kind.casefold() not in {w.casefold() for w in words}:
        words.append(kind)
    return " ".join(words)


_IMPORT = re.compile(
    r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+)|#include\s*[<\"]([\w./]+)[>\"]"
    r"|(?:const|let|var)\s+\w+\s*=\s*require\(['\"]([\w@/.-]+)['\"]\))",
    re.MULTILINE,
)
_COMMON_MODULES = frozenset(
    "os sys re json time math random typing collections itertools functools pathlib io "
    "datetime logging subprocess stdio.h stdlib.h string.h iostream string vector".split()
)


def _imports_topic(text: str) -> str | None:
    """For code that defines nothing: the two first libraries it imports that say something
    (not os, sys, json ...), as "<Library> <Library> Script"; None when there are none."""
    libraries: list[str] = []
    for match in _IMPORT.finditer(text):
        module = next(group for group in match.groups() if group)
        top = module.split(".")[0].split("/")[-1]
        if module not in _COMMON_MODULES and top not in _COMMON_MODULES and top not in libraries:
            libraries.append(top)
    if not libraries:
        return None
    return " ".join([*libraries[:2], "script"])
