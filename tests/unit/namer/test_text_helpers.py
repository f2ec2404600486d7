"""The text helpers every name goes through: letters and the main script of a text (a
character's script looked up once), shouting, and the conversation's spellings of a name's
words."""

from __future__ import annotations

import pytest
from parley_namer.domain.naming.casing import restore_case, shouting
from parley_namer.domain.naming.scripts import letters, main_script, script


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("1234 !?", ""),
        ("Sort a list", "LATIN"),
        ("Sort 中文", "CJK"),  # a character of a script without spaces weighs three letters
        ("Sortie 中", "LATIN"),
        ("abc 中", "LATIN"),  # a tie: the script seen first
        ("中 abc", "CJK"),
        ("Привет, how are you", "LATIN"),
        ("Привет, как дела? ok", "CYRILLIC"),
    ],
)
def test_the_main_script_is_that_of_most_words(text: str, expected: str) -> None:
    assert main_script(text) == expected


def test_letters_are_counted_in_every_script() -> None:
    assert letters("C++ 中文 é 42!") == 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HOW DO I SORT A LIST IN PYTHON", True),
        ("HOW DO I SORT A LIST", False),  # under 20 cased letters
        ("How do I sort a list in Python? NOW", False),
        ("ПОМОГИТЕ С ДОМАШНИМ ЗАДАНИЕМ ПО ХИМИИ", True),
        ("ǅǅǅǅǅǅǅǅǅǅǅǅǅǅǅǅǅǅǅǅǅǅ ab", False),  # title-case letters are neither
    ],
)
def test_shouting_is_mostly_capitals(text: str, expected: bool) -> None:
    assert shouting(text) is expected


def test_a_names_words_take_the_conversations_spellings_only() -> None:
    text = "Deploy with ArgoCD. I read that argocd syncs from git. ArgoCD works; GIT GIT Sync"
    assert restore_case("argocd sync from git", text) == "ArgoCD sync from GIT"
    assert restore_case("PHP and SQL", "the php code and php tests, SQL sql") == "php and SQL"
    assert restore_case("deploy", text) == "deploy"  # written only with a sentence's capital


def test_a_characters_script_is_looked_up_once() -> None:
    script.cache_clear()
    assert [script(ch) for ch in "aé中ア"] == ["LATIN", "LATIN", "CJK", "KATAKANA"]
    assert script("a") == "LATIN" and script("\u0378") == ""  # unassigned: no name
    assert script.cache_info().hits == 1
