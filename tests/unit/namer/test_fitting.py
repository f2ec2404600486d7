"""Every name fits every limit by construction: ``fit_name`` and ``clean_name`` on any text."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st
from parley_contracts import SessionNamed
from parley_namer.adapters.extractive import ExtractiveNamer
from parley_namer.domain.names import MAX_NAME_CHARS, MAX_WORDS, Turn, clean_name, fit_name
from parley_namer.domain.naming.fitting import cut_chars

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=600)


def _fits(name: str) -> None:
    assert len(name) <= MAX_NAME_CHARS
    assert len(name.split()) <= MAX_WORDS
    assert name == " ".join(name.split())  # one line, single spaces, no edge space


@given(_TEXT)
@settings(max_examples=300, deadline=None)
def test_fit_name_always_fits(text: str) -> None:
    name = fit_name(text)
    _fits(name)
    assert bool(name) == bool(text.split())
    # A prefix of the text's words: nothing invented, nothing reordered.
    assert " ".join(text.split()).startswith(name)


@given(_TEXT)
@settings(max_examples=300, deadline=None)
def test_clean_name_always_fits_or_is_none(text: str) -> None:
    name = clean_name(text)
    if name is not None:
        _fits(name)
        assert any(ch.isalpha() for ch in name)


@given(st.lists(st.text(alphabet="abcdefghij", min_size=1, max_size=40), min_size=1, max_size=30))
@settings(max_examples=200, deadline=None)
def test_words_are_not_cut_when_a_boundary_is_near(words: list[str]) -> None:
    name = fit_name(" ".join(words))
    assert set(name.split()) <= set(words)


def test_one_long_word_keeps_its_first_200_characters() -> None:
    assert fit_name("x" * 250) == "x" * 200
    # A word boundary in the second half of the allowance is where the cut falls...
    assert fit_name("a" * 150 + " " + "b" * 100) == "a" * 150
    # ...one too early would leave too little of the name: the cut falls between characters.
    assert fit_name("short " + "y" * 250) == ("short " + "y" * 250)[:200]


def test_a_cut_never_separates_a_letter_from_its_marks() -> None:
    text = "e\u0301" * 150  # 300 characters: e + combining acute accent
    cut = cut_chars(text, 199)
    assert len(cut) == 198 and unicodedata.category(cut[-1]) == "Mn"


def test_a_first_message_of_one_250_character_word_is_named_within_the_limits() -> None:
    namer = ExtractiveNamer()
    word = "Supercalifragilistic" * 12 + "expialidocious"
    assert len(word) > 200
    name, _ = namer.propose_with_language([Turn("user", word), Turn("assistant", "Sure.")])
    assert name is not None
    _fits(name)
    # The event the namer publishes accepts it (it would be dead-lettered otherwise).
    SessionNamed(
        event_id="00000000-0000-0000-0000-000000000001",
        correlation_id="00000000-0000-0000-0000-000000000002",
        session_id="00000000-0000-0000-0000-000000000003",
        user_id="u",
        name=name,
        attempt=1,
    )


@given(st.lists(_TEXT, min_size=1, max_size=4))
@settings(max_examples=40, deadline=None)
def test_the_offline_namer_always_fits(contents: list[str]) -> None:
    turns = [Turn("user" if i % 2 == 0 else "assistant", c) for i, c in enumerate(contents)]
    name, _ = _NAMER.propose_with_language(turns)
    if name is not None:
        _fits(name)


_NAMER = ExtractiveNamer()
