"""``clean_name``: any candidate text becomes one clean line, or None when nothing is left."""

from __future__ import annotations

import pytest
from parley_namer.domain.names import clean_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"Java Reflection"', "Java Reflection"),
        ("“Smart quotes” title", "Smart quotes title"),
        ("« Traduction en français »", "Traduction en français"),
        ("「日本語の名前」", "日本語の名前"),
        ("‘Single’ and 'plain' quotes", "Single and plain quotes"),
        ("**Bold** and _italic_ `code`", "Bold and italic code"),
        ("## Heading title", "Heading title"),
        ("[Python docs](https://docs.python.org) <b>tips</b>", "Python docs tips"),
        ("See https://example.com for details", "See for details"),
        ("Hello, Rust lifetimes!", "Rust lifetimes"),
        # Generic words are judged on the whole name: a greeting set apart at an edge goes,
        # the same word inside a real name stays.
        ("Greetings: test plan for HEY", "test plan for HEY"),
        ("Hello World in Rust", "Hello World in Rust"),
        ("Unit test fixtures, hi", "Unit test fixtures"),
        ("Learn C# and F#", "Learn C# and F#"),
        (".NET dependency injection", ".NET dependency injection"),
        ("Testing hints", "Testing hints"),
        ("it's l’eau", "it's l’eau"),
        ("multi\nline\r\n  name", "multi line name"),
        ("...Sorting lists?!", "Sorting lists"),
        ("C++ templates", "C++ templates"),
        ("Battle of the Golden Spurs (1302)", "Battle of the Golden Spurs (1302)"),
        (
            "one two three four five six seven eight nine ten eleven twelve",
            "one two three four five six seven eight nine ten",
        ),
    ],
)
def test_clean_name_normalises(raw: str, expected: str) -> None:
    assert clean_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "\n\n", "hi", "Hello!", "hello test", "Hey, greetings.", "1234 !!", "***", "“”"],
)
def test_clean_name_returns_none_when_nothing_meaningful_is_left(raw: str) -> None:
    assert clean_name(raw) is None
