"""The offline namer reaches the bar of issue 8 on the real conversations of ../shared/data
(ShareGPT first exchanges and Chatbot Arena prompts), measured as ``parley names eval`` does."""

from __future__ import annotations

import pytest
from parley_namer.adapters.extractive import ExtractiveNamer
from parley_namer.adapters.segmenters import Segmenters
from parley_namer.evaluation.reading import read_conversations
from parley_namer.evaluation.report import measures, name_all
from realdata import DATA_DIR


@pytest.fixture(scope="module")
def namer() -> ExtractiveNamer:
    return ExtractiveNamer()


@pytest.mark.parametrize("file", ["sharegpt_conversations.jsonl", "arena_prompts.jsonl"])
def test_the_offline_namer_reaches_the_bar_on_real_data(namer: ExtractiveNamer, file: str) -> None:
    path = DATA_DIR / file
    assert path.exists(), f"real data not found: {path} (set PARLEY_DATA_DIR)"
    rows = name_all(
        read_conversations(path),
        namer,
        namer.detector,
        namer.keyphrases.function_words,
        Segmenters(),
    )
    result = measures(rows)
    assert result["conversations"] >= 300
    # Only conversations with nothing to name (greetings, a bare formula) stay unnamed.
    assert result["unnamed"] <= 0.025 * result["conversations"]
    assert result["pct_1_to_10_words"] == 100.0
    assert result["pct_generic"] == 0.0
    assert 3 <= result["median_words"] <= 5
    assert result["pct_1_or_2_words"] <= 15.0
    assert result["pct_verbatim_prefix"] <= 15.0
    assert result["pct_in_language"] >= 98.0
    # CPU time of the calls: the wall clock of a shared test machine measures its load.
    assert result["cpu_p95_ms"] <= 50.0
