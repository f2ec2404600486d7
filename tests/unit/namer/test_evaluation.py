"""The evaluation of a namer: reading conversation files, judging names, the measures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from parley_namer.adapters.language import LinguaDetector
from parley_namer.adapters.segmenters import Segmenters
from parley_namer.adapters.yake_keyphrases import YakeKeyphrases
from parley_namer.domain.names import Turn
from parley_namer.domain.naming.judging import in_language, is_short, is_verbatim_prefix
from parley_namer.evaluation.__main__ import main
from parley_namer.evaluation.reading import BadLine, parse_line, read_conversations
from parley_namer.evaluation.report import measures, name_all, sample


class ScriptedNamer:
    """A namer that answers from a table (the first user message -> name)."""

    def __init__(self, names: dict[str, str | None]) -> None:
        self.names = names

    def propose_with_language(self, turns):  # noqa: ANN001, ANN201 - the Namer port
        return self.names[turns[0].content], "en"


@pytest.fixture(scope="module")
def detector() -> LinguaDetector:
    return LinguaDetector()


def test_a_sharegpt_line_gives_the_first_user_message_and_its_reply() -> None:
    line = json.dumps(
        {
            "id": "a1",
            "messages": [
                {"role": "assistant", "content": "Welcome"},
                {"role": "user", "content": "How do I sort in Go?"},
                {"role": "assistant", "content": "Use sort.Slice."},
                {"role": "user", "content": "And in Rust?"},
            ],
        }
    )
    conversation = parse_line(line, 1)
    assert conversation is not None and conversation.id == "a1"
    assert conversation.turns == (
        Turn("user", "How do I sort in Go?"),
        Turn("assistant", "Use sort.Slice."),
    )
    sharegpt = json.dumps({"conversations": [{"from": "human", "value": "Hi there, SQL joins"}]})
    assert parse_line(sharegpt, 2).turns == (Turn("user", "Hi there, SQL joins"),)


@pytest.mark.parametrize(
    "line",
    [
        json.dumps({"id": "p", "prompt": "Write a haiku"}),
        json.dumps("Write a haiku"),
        "Write a haiku",
    ],
)
def test_a_prompt_line_is_one_user_turn(line: str) -> None:
    conversation = parse_line(line, 3)
    assert conversation is not None and conversation.turns == (Turn("user", "Write a haiku"),)


@pytest.mark.parametrize("line", ["[1, 2]", json.dumps({"id": 1}), json.dumps({"messages": []})])
def test_a_line_that_is_no_conversation_is_refused_with_its_number(line: str) -> None:
    with pytest.raises(BadLine) as caught:
        parse_line(line, 7)
    assert caught.value.line == 7
    assert parse_line("   \n", 8) is None


def test_verbatim_prefixes_ignore_case_punctuation_and_spacing() -> None:
    assert is_verbatim_prefix(
        "Data Analytics in Internal Audit", "Data analytics in internal audit"
    )
    assert is_verbatim_prefix("Write a Poem", "write a poem, about cats")
    assert not is_verbatim_prefix("Reflection in Java", "what is reflection in Java")
    assert not is_verbatim_prefix("Write a Po", "write a poem")  # not a whole word
    assert is_verbatim_prefix("写一首关于春天的诗", "写一首关于春天的诗，要押韵")
    assert not is_verbatim_prefix("", "anything")


def test_language_is_judged_by_script_then_by_the_detector_where_confident(
    detector: LinguaDetector,
) -> None:
    assert is_short("Java Reflection") and not is_short("Reflection in Java Programming")
    assert not in_language("Квантовые вычисления", "en", "Explain quantum computing", detector)
    assert in_language("Quantum", "en", "Explain quantum computing", detector)
    english = "How do I train a neural network for image classification in PyTorch"
    assert in_language("Neural Network Image Classification", "en", english, detector)
    french = "Je voudrais une recette de gâteau au chocolat pour ce soir, avec des fraises"
    assert in_language("Recette de gâteau au chocolat", "fr", french, detector)  # own words
    assert not in_language("Chocolate Cake Recipe for Tonight", "fr", french, detector)


def test_the_measures_count_every_conversation(tmp_path: Path, detector: LinguaDetector) -> None:
    path = tmp_path / "prompts.jsonl"
    prompts = {
        "Explain how Kubernetes operators reconcile resources": "Kubernetes Operator Reconciliation",
        "hello": None,
        "Write a poem about autumn leaves": "Write a Poem",
        "Show a hello world program in Rust": "Hello World Program in Rust",
    }
    path.write_text("\n".join(json.dumps({"prompt": p}) for p in prompts) + "\n", encoding="utf-8")
    words = YakeKeyphrases().function_words
    rows = name_all(read_conversations(path), ScriptedNamer(prompts), detector, words, Segmenters())
    result = measures(rows)
    # Shares are of the three names made; the greeting is counted apart.
    assert (result["conversations"], result["named"], result["unnamed"]) == (4, 3, 1)
    assert result["pct_1_to_10_words"] == 100.0
    assert result["pct_generic"] == 0.0  # "Hello World Program in Rust" is not generic
    assert result["pct_with_a_generic_word"] == 33.3
    assert result["pct_1_or_2_words"] == 0.0
    assert result["pct_verbatim_prefix"] == 33.3  # "Write a Poem"
    assert result["median_words"] == 3
    assert result["pct_in_language"] == 100.0
    assert 0 <= result["p50_ms"] <= result["p95_ms"]
    assert [r.id for r in sample(rows, 2, seed=1)] == [r.id for r in sample(rows, 2, seed=1)]
    assert len(sample(rows, 40, seed=1)) == 3  # the named ones
    assert len(list(read_conversations(path, limit=2))) == 2


def test_the_command_prints_json_and_refuses_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"prompt": "How do I rotate a PDF page with qpdf?"}) + "\n")
    assert main([str(path), "--json", "--sample", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["measures"]["conversations"] == 1
    assert report["sample"][0]["name"] and len(report["rules"]) == 2
    assert report["unnamed"] == []
    bad = tmp_path / "bad.jsonl"
    bad.write_text("[1]\n")
    assert main([str(bad)]) == 2
    assert "line 1" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.jsonl")]) == 2
