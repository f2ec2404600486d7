"""Ports of the offline namer: what it needs from language and text libraries.

Adapters implement them (lingua, YAKE, word segmenters); tests may pass small fakes.
"""

from __future__ import annotations

from typing import Protocol


class LanguageDetector(Protocol):
    """Tells the language of a text."""

    def detect(self, text: str) -> str | None:
        """ISO 639-1 code (lower case) of ``text``'s language, or None when it cannot tell."""
        ...

    def candidates(self, text: str) -> list[tuple[str, float]]:
        """Languages (ISO 639-1) with their confidence (0.0-1.0), most likely first."""
        ...

    def confidence(self, text: str, language: str) -> float:
        """How likely (0.0-1.0) ``text`` is in ``language`` (ISO 639-1); 0.0 for an unknown code."""
        ...


class KeyphraseExtractor(Protocol):
    """Scores the keyphrases of a text."""

    def extract(self, text: str, language: str | None) -> list[tuple[str, float]]:
        """Keyphrases of 1-3 words with their scores, lower is better, best first."""
        ...

    def stopwords(self, language: str | None) -> frozenset[str]:
        """Lower-case stopwords used for ``language`` (English ones included)."""
        ...

    def function_words(self, language: str) -> frozenset[str]:
        """The lower-case stopwords of ``language`` alone; empty when there is no list."""
        ...


class WordSegmenter(Protocol):
    """Splits text of a script written without spaces into words."""

    def words(self, text: str, language: str | None) -> list[str]:
        """The words of ``text`` in order; their concatenation is ``text``."""
        ...
