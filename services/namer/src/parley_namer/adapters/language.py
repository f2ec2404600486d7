"""Judging a short title's language against the conversation's, over the offline namer's lingua
detector (P. M. Stahl, lingua-py, package ``lingua-language-detector``): one set of language
models in memory for both namers."""

from __future__ import annotations

import threading
from typing import Protocol

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

#: Confidence (0-1) of a title's most likely language above which it counts.
ANY_LANGUAGE_CONFIDENCE = 0.99
#: The expected language's confidence at or under which it is ruled out.
EXPECTED_FLOOR = 0.001
#: Words a title needs before the any-language check applies.
MIN_WORDS = 3
#: Confidence of English against the expected language alone above which a title is English.
ENGLISH_CONFIDENCE = 0.97


class Detector(Protocol):
    """What is used of the offline namer's detector."""

    def detect(self, text: str) -> str | None:
        """ISO 639-1 code of ``text``'s language, or None."""
        ...

    def confidence(self, text: str, language: str) -> float:
        """Confidence (0-1) that ``text`` is in ``language``."""
        ...


class TitleLanguage:
    """The :class:`~parley_namer.domain.policy.LanguageDetector` port of the LLM namer.
    Thread-safe; raises nothing for any text."""

    def __init__(self, detector: Detector) -> None:
        self._detector = detector
        self._pairs: dict[str, LanguageDetector] = {}
        self._lock = threading.Lock()

    def detect(self, text: str) -> str | None:
        """ISO 639-1 code (``"fr"``) of ``text``'s language, or None (no letters)."""
        return self._detector.detect(text)

    def contradicts(self, text: str, expected: str) -> str | None:
        """Another language ``text`` (a short title) is surely in, rather than ``expected``;
        None when it may be in ``expected``.

        Short texts fool the detector ("Sunny Windowsill Basil" reads as Finnish at 0.93), so
        only near-certain answers count: the most likely language at
        :data:`ANY_LANGUAGE_CONFIDENCE` or more while ``expected`` is at :data:`EXPECTED_FLOOR`
        or less, on :data:`MIN_WORDS` words or more; or, for a language other than English (the
        usual slip of a model), English at :data:`ENGLISH_CONFIDENCE` or more against
        ``expected`` alone.
        """
        target = _language(expected)
        if target is None:
            return None
        words = len(text.split())
        if expected != "en" and words >= 2:
            pair = self._pair(expected, target)
            if pair.compute_language_confidence(text, Language.ENGLISH) >= ENGLISH_CONFIDENCE:
                return "en"
        if words < MIN_WORDS:
            return None
        top = self._detector.detect(text)
        if top is None or top == expected:
            return None
        if self._detector.confidence(text, top) < ANY_LANGUAGE_CONFIDENCE:
            return None
        if self._detector.confidence(text, expected) > EXPECTED_FLOOR:
            return None
        return top

    def _pair(self, code: str, target: Language) -> LanguageDetector:
        """A detector choosing between ``target`` and English only (built once per language)."""
        with self._lock:
            if code not in self._pairs:
                self._pairs[code] = (
                    LanguageDetectorBuilder.from_languages(target, Language.ENGLISH)
                    .with_low_accuracy_mode()
                    .build()
                )
            return self._pairs[code]

    @staticmethod
    def name_of(code: str | None) -> str | None:
        """The English name of an ISO 639-1 code (``"fr"`` → ``"french"``), or None."""
        language = _language(code)
        return language.name.lower() if language is not None else None


def _language(code: str | None) -> Language | None:
    """lingua's language of an ISO 639-1 code, or None."""
    if not code:
        return None
    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(code))
    except ValueError:
        return None
