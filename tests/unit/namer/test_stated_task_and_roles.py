"""The offline namer reads a stated task past a story, sets pasted markup aside, and names a
role-play in Chinese or Japanese after the character it quotes."""

from __future__ import annotations

import pytest
from parley_namer.adapters.extractive import ExtractiveNamer
from parley_namer.domain.names import Turn
from parley_namer.domain.naming.prose import prose
from parley_namer.domain.naming.requests import topic

STOPWORDS = frozenset("a an the of in for on to with is are be it this that and or".split())


@pytest.fixture(scope="module")
def namer() -> ExtractiveNamer:
    return ExtractiveNamer()


def test_a_stated_task_wins_over_a_story_that_narrates() -> None:
    story = (
        "You have just moved to a big city. Shops are far apart. You hate driving. "
        "Roads join crossings. Every shop is at a crossing. Buses are slow. "
        "Your task is to find the cheapest tour of all shops, starting at home."
    )
    assert topic(story, STOPWORDS) == "cheapest tour of all shops"


def test_a_stated_task_after_a_role_names_the_request() -> None:
    text = "You are a marketer. Your task is to write a blog post about solar panels."
    assert topic(text, STOPWORDS) == "blog post about solar panels"


def test_a_stated_task_does_not_replace_a_story_that_names_its_topic() -> None:
    text = (
        "In a unique archery contest at Lakeside, two archers compete. You are given scores. "
        "Your task is to determine the winner of the contest."
    )
    assert topic(text, STOPWORDS) == "unique archery contest at Lakeside"


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


def test_inline_markup_is_set_aside_but_a_tag_named_alone_stays() -> None:
    pasted = (
        'i have this element : "<div class="card" id="c7"> <div class="title">Locked</div> '
        '</div>" ".card { filter: blur(6px); }" i want a lock icon on it'
    )
    assert prose(pasted) == 'i have this element : " " " " i want a lock icon on it.'
    assert "div" in prose("How do I center a <div> in CSS?")
    assert "String" in prose("List<String> or ArrayList<String> in Java?")


def test_a_message_with_pasted_markup_is_named_after_its_request(namer: ExtractiveNamer) -> None:
    pasted = (
        'i have this element : "<div class="info-card locked-card" id="card7"> <div '
        'class="title">Locked</div> </div>" ".locked-card { filter: blur(6px); }" '
        "i also want to add a padlock icon on it"
    )
    name = namer.propose([Turn("user", pasted)])
    assert name is not None and "Padlock Icon" in name and "Div" not in name
