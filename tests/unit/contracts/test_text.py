"""Text every service can store (PostgreSQL ``text``): what is refused and how foreign text is
made storable."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from parley_contracts import storable, unstorable_reason


def test_ordinary_text_is_storable_as_it_is() -> None:
    text = "Grüße, 你好, emoji 🚀, tabs\tand\nlines"
    assert unstorable_reason(text) is None
    assert storable(text) is text


def test_nul_and_lone_surrogates_are_refused_with_a_reason() -> None:
    assert unstorable_reason("a\x00b") == "must not contain a NUL character"
    assert unstorable_reason("a\ud800b") == "must be valid Unicode text (no lone surrogates)"


def test_foreign_text_is_made_storable_character_for_character() -> None:
    assert storable("a\x00b\udfffc") == "a\ufffdb\ufffdc"


#: Any code points, NUL and lone surrogates included (``st.text`` leaves surrogates out).
ANY_TEXT = st.lists(st.integers(0, 0x10FFFF)).map(lambda points: "".join(map(chr, points)))


@given(ANY_TEXT)
def test_storable_text_always_encodes_to_utf8_without_nul(text: str) -> None:
    cleaned = storable(text)
    assert unstorable_reason(cleaned) is None
    assert "\x00" not in cleaned.encode("utf-8").decode("utf-8")
    assert len(cleaned) == len(text)
