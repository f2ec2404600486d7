"""The extractive namer and the naming rules, on real conversations from ../shared/data.

The data directory is ``<repo>/../shared/data`` (``PARLEY_DATA_DIR`` overrides it); a test
that reads it fails, naming the missing file, when it is not there.
"""

from __future__ import annotations

import json
import statistics
import unicodedata
from collections import Counter
from typing import Any

import pytest
from parley_namer.adapters.extractive import ExtractiveNamer
from parley_namer.domain.names import (
    MAX_EXCHANGES,
    MAX_INPUT_CHARS,
    MAX_WORDS,
    Turn,
    clean_name,
    is_generic_name,
    prepare_turns,
)
from parley_namer.domain.naming.namer import ADDED_WORDS
from realdata import DATA_DIR as REAL_DATA_DIR

DATA_DIR = REAL_DATA_DIR.resolve()

# Quote characters that never appear in a name; ASCII and typographic apostrophes may
# stand between two letters ("it's", "l'eau") and are checked separately.
QUOTES = set('"`“”„‟«»‹›「」『』〝〞〟＂＇｢｣‚‛')
MARKUP = set("*_<>|~")  # "#" only as in C# and F#: checked separately
APOSTROPHES = "'‘’"
# Words that English Title Case leaves in lower case.
MINOR_WORDS = set(
    "a about an and as at but by for from in into nor of on or per the to vs via with".split()
)


def _load(name: str) -> list[dict[str, Any]]:
    path = DATA_DIR / name
    assert path.exists(), f"real data not found: {path} (set PARLEY_DATA_DIR)"
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _turns(row: dict[str, Any]) -> list[Turn]:
    return [Turn(role=m["role"], content=m["content"]) for m in row["messages"]]


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    script = name.split(" ", 1)[0] if name else ""
    return "CJK" if script in {"HIRAGANA", "KATAKANA"} else script


def _main_script(text: str) -> tuple[str, float]:
    counts = Counter(_script(ch) for ch in text if ch.isalpha())
    if not counts:
        return "", 0.0
    script, n = counts.most_common(1)[0]
    return script, n / sum(counts.values())


def assert_well_formed(name: str) -> None:
    """The properties every proposed name has."""
    assert name == name.strip() and name
    assert "\n" not in name and "\r" not in name
    assert len(name.split()) <= MAX_WORDS
    assert not QUOTES & set(name), name
    assert not MARKUP & set(name), name
    assert all(i > 0 and name[i - 1].isalpha() for i, ch in enumerate(name) if ch == "#"), name
    for i, ch in enumerate(name):
        if ch in APOSTROPHES:
            assert 0 < i < len(name) - 1 and name[i - 1].isalpha() and name[i + 1].isalpha()
    # Generic words are judged on the whole name ("Hello World in Rust" is a real name).
    assert not is_generic_name(name), name
    assert any(ch.isalpha() for ch in name)


@pytest.fixture(scope="module")
def namer() -> ExtractiveNamer:
    return ExtractiveNamer()


@pytest.fixture(scope="module")
def sharegpt() -> list[dict[str, Any]]:
    return _load("sharegpt_conversations.jsonl")


@pytest.fixture(scope="module")
def arena() -> list[dict[str, Any]]:
    return _load("arena_prompts.jsonl")


# -- clean_name on real text (rules: test_clean_name.py) ----------------------------


def test_clean_name_on_real_first_messages_is_single_line_and_short(
    sharegpt: list[dict[str, Any]], arena: list[dict[str, Any]]
) -> None:
    texts = [row["messages"][0]["content"] for row in sharegpt] + [r["prompt"] for r in arena]
    cleaned = [clean_name(t) for t in texts]
    assert sum(c is not None for c in cleaned) > 0.9 * len(texts)
    for c in cleaned:
        if c is not None:
            assert "\n" not in c and len(c.split()) <= MAX_WORDS
            assert not QUOTES & set(c)


# -- prepare_turns -----------------------------------------------------------------------


def test_prepare_turns_keeps_first_exchanges_cut_to_max_chars() -> None:
    turns = [
        Turn("user" if i % 2 == 0 else "assistant", f"{i}" + "x" * (MAX_INPUT_CHARS + 100))
        for i in range(10)
    ]
    kept = prepare_turns(turns)
    assert len(kept) == MAX_EXCHANGES * 2
    assert [t.role for t in kept] == [t.role for t in turns[: MAX_EXCHANGES * 2]]
    assert all(len(t.content) == MAX_INPUT_CHARS for t in kept)
    assert [t.content[0] for t in kept] == [str(i) for i in range(MAX_EXCHANGES * 2)]
    assert prepare_turns([]) == []


def test_prepare_turns_on_real_conversations(sharegpt: list[dict[str, Any]]) -> None:
    for row in sharegpt[:50]:
        turns = _turns(row)
        kept = prepare_turns(turns)
        assert len(kept) == min(len(turns), MAX_EXCHANGES * 2)
        for original, cut in zip(turns, kept, strict=False):
            assert cut.role == original.role
            assert cut.content == original.content[:MAX_INPUT_CHARS]


# -- ExtractiveNamer on real data --------------------------------------------------------


def test_sharegpt_names_are_well_formed_short_and_extractive(
    namer: ExtractiveNamer, sharegpt: list[dict[str, Any]]
) -> None:
    rows = sharegpt[:100]
    names = [namer.propose(_turns(row)) for row in rows]
    named = [(row, name) for row, name in zip(rows, names, strict=True) if name is not None]
    assert len(named) >= 90, f"only {len(named)} of 100 conversations named"
    lengths = []
    for row, name in named:
        assert_well_formed(name)
        lengths.append(len(name.split()))
        # Extractive: every word of the name comes from the turns the namer read, but for
        # the few title words the namer adds ("ArgoCD Explained", "Logger Class").
        read = " ".join(t.content for t in prepare_turns(_turns(row))).casefold()
        read = read.replace("_", " ").replace("’", "'")
        for word in name.split():
            assert word.casefold() in read or word.casefold() in ADDED_WORDS, (word, name)
    assert 2 <= statistics.median(lengths) <= 6


def test_a_french_conversation_is_named_in_french(
    namer: ExtractiveNamer, sharegpt: list[dict[str, Any]]
) -> None:
    found = 0
    for row in sharegpt:
        user = [t for t in prepare_turns(_turns(row)) if t.role == "user"]
        user_text = "\n".join(t.content for t in user)
        language = namer.detect_language(user_text)
        if language not in {"fr", "es"} or len(user_text) < 200:
            continue
        found += 1
        name = namer.propose(_turns(row))
        assert name is not None
        assert_well_formed(name)
        # The name is taken from the user's lines written in that language.
        own_lines = " ".join(
            line for line in user_text.splitlines() if namer.detect_language(line) == language
        ).casefold()
        assert all(word.casefold() in own_lines for word in name.split()), name
    assert found >= 1, "no French or Spanish conversation in the data"


def test_user_language_decides_over_the_replies(
    namer: ExtractiveNamer, sharegpt: list[dict[str, Any]]
) -> None:
    found = 0
    for row in sharegpt:
        kept = prepare_turns(_turns(row))
        user = "\n".join(t.content for t in kept if t.role == "user")
        replies = "\n".join(t.content for t in kept if t.role == "assistant")
        if namer.detect_language(user) != "en" or namer.detect_language(replies) != "es":
            continue
        found += 1
        name = namer.propose(_turns(row))
        assert name is not None
        assert all(word.casefold() in user.casefold() for word in name.split()), name
        # English casing: Title Case.
        assert all(not w[0].islower() for w in name.split() if w not in MINOR_WORDS), name
    assert found >= 1, "no English conversation with Spanish replies in the data"


def test_greetings_only_and_empty_conversations_get_no_name(namer: ExtractiveNamer) -> None:
    assert namer.propose([]) is None
    assert namer.propose([Turn("user", "hi"), Turn("assistant", "Hello! How can I help?")]) is None
    assert namer.propose([Turn("user", "Hey!")]) is None
    assert namer.propose([Turn("user", "hello test")]) is None
    assert namer.propose([Turn("user", "   ")]) is None
    assert (
        namer.propose([Turn("user", "你好"), Turn("assistant", "你好！有什么可以帮你？")]) is None
    )
    assert namer.propose([Turn("assistant", "Hello! How can I help you today?")]) is None


def test_user_turns_that_clean_to_nothing_get_no_name(namer: ExtractiveNamer) -> None:
    assert namer.propose([Turn("user", "hello this is just a test")]) is None
    assert namer.propose([Turn("user", "*** ``` ### !!!"), Turn("assistant", "Sorry?")]) is None


def test_arena_prompts_are_named_in_their_own_script(
    namer: ExtractiveNamer, arena: list[dict[str, Any]]
) -> None:
    named = 0
    by_script: Counter[str] = Counter()
    for row in arena:
        name = namer.propose([Turn("user", row["prompt"])])
        if name is None:
            continue
        named += 1
        assert_well_formed(name)
        script, share = _main_script(row["prompt"][:MAX_INPUT_CHARS])
        if script in {"CJK", "CYRILLIC"} and share >= 0.5:
            by_script[script] += 1
            assert any(_script(ch) == script for ch in name), (name, row["prompt"][:80])
            if script == "CJK":
                assert len(name) <= 16, name
    assert named >= 0.9 * len(arena)
    assert by_script["CJK"] >= 10 and by_script["CYRILLIC"] >= 10


def test_english_names_use_title_case_and_keep_spellings(namer: ExtractiveNamer) -> None:
    name = namer.propose(
        [
            Turn("user", "what is argocd"),
            Turn(
                "assistant",
                "ArgoCD is a declarative continuous delivery tool for Kubernetes. ArgoCD "
                "follows the GitOps pattern.",
            ),
        ]
    )
    assert name is not None and "ArgoCD" in name
    name = namer.propose([Turn("user", "write a motivational letter for a phd position")])
    assert name is not None
    assert name.split()[0][0].isupper()
    assert all(w[0].isupper() for w in name.split() if w not in MINOR_WORDS), name


def test_other_languages_capitalise_only_the_first_letter(namer: ExtractiveNamer) -> None:
    name = namer.propose(
        [
            Turn(
                "user",
                "¿Cómo preparo una paella valenciana tradicional con mariscos frescos para "
                "una cena familiar?",
            ),
            Turn(
                "assistant",
                "Para preparar una paella valenciana tradicional necesitas arroz bomba, "
                "azafrán, pollo, conejo y judías verdes.",
            ),
        ]
    )
    assert name is not None
    first, *rest = name.split()
    assert first[0].isupper()
    assert rest and all(w.islower() for w in rest), name


def test_detect_language(namer: ExtractiveNamer) -> None:
    assert namer.detect_language("Bonjour, je voudrais réserver une table pour ce soir.") == "fr"
    assert namer.detect_language("今天天气很好，我们去公园散步吧。") == "zh"
    assert namer.detect_language("Сегодня хорошая погода, пойдём гулять в парк.") == "ru"
    assert namer.detect_language("") is None
    assert namer.detect_language("12345 !!!") is None


def test_huge_turns_are_read_only_in_part(namer: ExtractiveNamer) -> None:
    turns = [Turn("user", "Kubernetes operators " * 50_000), Turn("assistant", "x" * 1_000_000)]
    name = namer.propose(turns)
    assert name is not None and "Kubernetes" in name


def test_a_message_that_is_only_a_link_is_named_after_the_link(namer: ExtractiveNamer) -> None:
    turns = [
        Turn("user", "https://projudi2.tjpr.jus.br/projudi/mediaplayer.do?_tj=da2de4eb449da5c7"),
        Turn("assistant", "I'm sorry, I cannot open links. Can you tell me what you need?"),
    ]
    assert namer.propose(turns) == "Projudi Mediaplayer"
