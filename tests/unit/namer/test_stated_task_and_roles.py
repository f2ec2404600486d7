"""The offline namer reads a stated task past a story, and names a role-play in Chinese or
Japanese after the character it quotes."""

from __future__ import annotations

import pytest
from parley_namer.adapters.extractive import ExtractiveNamer
from parley_namer.domain.names import Turn
from parley_namer.domain.naming.requests import topic

STOPWORDS = frozenset("a an the of in for on to with is are be it this that and or".split())


@pytest.fixture(scope="module")
def namer() -> ExtractiveNamer:
    return ExtractiveNamer()


def test_a_stated_task_wins_over_the_story_before_it() -> None:
    story = (
        "You have just moved to a big city. Shops are far apart. You hate driving. "
        "Roads join crossings. Every shop is at a crossing. Buses are slow. "
        "Your task is to find the cheapest tour of all shops, starting at home."
    )
    assert topic(story, STOPWORDS) == "cheapest tour of all shops"


def test_a_stated_task_after_a_role_names_the_request() -> None:
    text = "You are a marketer. Your task is to write a blog post about solar panels."
    assert topic(text, STOPWORDS) == "blog post about solar panels"


def test_a_stated_task_of_one_word_leaves_the_other_sentences() -> None:
    assert topic("Plan a trip to Rome. Your goal is to relax.", STOPWORDS) == "trip to Rome"


def test_a_role_play_in_japanese_is_named_after_the_quoted_character(
    namer: ExtractiveNamer,
) -> None:
    text = (
        "あなたには「星野ミカ」というキャラクターとして振る舞ってもらいます。"
        "相手を楽しませるように話してください。"
    )
    assert namer.propose([Turn("user", text)]) == "星野ミカ"


def test_a_role_clause_without_a_quoted_name_is_still_skipped(namer: ExtractiveNamer) -> None:
    name = namer.propose([Turn("user", "你是一名厨师。写一份素食婚礼菜单")])
    assert name is not None and "厨师" not in name
