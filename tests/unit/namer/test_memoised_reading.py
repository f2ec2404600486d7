"""What the offline namer reads again is not computed again: lingua's answers and YAKE's
keyphrases are memoised per text (the same answers, each a fresh list), bounded; the stopword
set of a language is built once."""

from __future__ import annotations

from typing import Any

import pytest
from parley_namer.adapters import language as language_module
from parley_namer.adapters import yake_keyphrases as yake_module
from parley_namer.adapters.extractive import ExtractiveNamer
from parley_namer.adapters.language import LinguaDetector
from parley_namer.adapters.yake_keyphrases import YakeKeyphrases
from parley_namer.domain.names import Turn

FIRST = "How do I merge two sorted lists in Python without using the built-in sort function?"


class CountingLingua:
    """A lingua detector that counts the texts it is asked about, answering like the real one."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[tuple[str, str]] = []

    def detect_language_of(self, text: str) -> Any:
        self.calls.append(("detect", text))
        return self.real.detect_language_of(text)

    def compute_language_confidence_values(self, text: str) -> Any:
        self.calls.append(("candidates", text))
        return self.real.compute_language_confidence_values(text)

    def compute_language_confidence(self, text: str, language: Any) -> float:
        self.calls.append(("confidence", text))
        return float(self.real.compute_language_confidence(text, language))


@pytest.fixture(scope="module")
def lingua() -> Any:
    return LinguaDetector()._built()


@pytest.fixture
def counted(lingua: Any) -> tuple[LinguaDetector, CountingLingua]:
    detector = LinguaDetector()
    counting = CountingLingua(lingua)
    detector._detector = counting  # type: ignore[assignment]
    return detector, counting


def test_lingua_answers_once_per_text(counted: tuple[LinguaDetector, CountingLingua]) -> None:
    detector, lingua = counted
    first = (detector.detect(FIRST), detector.candidates(FIRST), detector.confidence(FIRST, "en"))
    again = (detector.detect(FIRST), detector.candidates(FIRST), detector.confidence(FIRST, "en"))
    assert first == again and first[0] == "en" and first[1][0][0] == "en"
    assert lingua.calls == [("detect", FIRST), ("candidates", FIRST), ("confidence", FIRST)]
    detector.detect(FIRST + " Thanks!")  # another text is read
    assert len(lingua.calls) == 4


def test_memoised_candidates_are_a_fresh_list_each_time(
    counted: tuple[LinguaDetector, CountingLingua],
) -> None:
    detector, _ = counted
    ranked = detector.candidates(FIRST)
    ranked.append(("xx", 1.0))
    ranked[0] = ("zz", 0.0)
    assert detector.candidates(FIRST)[0][0] == "en"
    assert ("xx", 1.0) not in detector.candidates(FIRST)


def test_an_unknown_code_has_no_confidence_and_is_not_asked(
    counted: tuple[LinguaDetector, CountingLingua],
) -> None:
    detector, lingua = counted
    assert detector.confidence(FIRST, "qq") == 0.0
    assert lingua.calls == []


def test_the_memo_is_bounded(counted: tuple[LinguaDetector, CountingLingua]) -> None:
    detector, lingua = counted
    for n in range(language_module.CACHED_TEXTS + 1):
        detector.detect(f"{FIRST} {n}")
    detector.detect(f"{FIRST} 0")  # the least recently used text was let go: read again
    assert len(lingua.calls) == language_module.CACHED_TEXTS + 2


def test_yake_keyphrases_once_per_text_and_language(monkeypatch: pytest.MonkeyPatch) -> None:
    keyphrases = YakeKeyphrases()
    extractor = keyphrases._extractor("en")
    texts: list[str] = []
    real = extractor.extract_keywords

    def counting(text: str) -> Any:
        texts.append(text)
        return real(text)

    monkeypatch.setattr(extractor, "extract_keywords", counting)
    first = keyphrases.extract(FIRST, "en")
    first.clear()  # the caller's list only
    assert keyphrases.extract(FIRST, "en") == keyphrases.extract(FIRST, "en") != []
    assert texts == [FIRST]
    assert keyphrases.extract("1234 5678", "en") == [] and texts == [FIRST]  # no letters
    assert yake_module.CACHED_TEXTS >= 2


def test_a_languages_stopwords_are_one_set() -> None:
    keyphrases = YakeKeyphrases()
    assert keyphrases.stopwords("en") is keyphrases.stopwords("en")
    assert keyphrases.stopwords(None) is keyphrases.stopwords("en")
    assert {"the", "and"} <= keyphrases.stopwords("fr") and "le" in keyphrases.stopwords("fr")
    assert keyphrases.stopwords("cs") is keyphrases.stopwords("cs")  # YAKE's "cz" list


def test_the_name_after_a_provisional_one_reads_the_first_message_from_the_memo(
    lingua: Any,
) -> None:
    namer = ExtractiveNamer()
    counting = CountingLingua(lingua)
    namer.detector._detector = counting  # type: ignore[attr-defined]
    long_first = " ".join([FIRST] * 3)  # long enough to be read without the reply
    provisional = namer.propose_with_language([Turn("user", long_first)])
    reads = len(counting.calls)
    named = namer.propose_with_language(
        [Turn("user", long_first), Turn("assistant", "Use heapq.merge, or walk both lists.")]
    )
    assert provisional == named == ("Merge Two Sorted Lists", "en")
    assert reads > 0 and len(counting.calls) == reads  # nothing read twice
