"""Language detection with lingua (P. M. Stahl, lingua-py, package ``lingua-language-detector``).

All languages in the low-accuracy mode (about 80 MB resident, built on first use); reliable on
sentences, weak on a few words, which is why :meth:`LinguaDetector.confident` exists.
"""

from __future__ import annotations

import threading

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder


class LinguaDetector:
    """The :class:`~parley_namer.domain.policy.LanguageDetector` port over lingua, and the
    offline namer's :class:`~parley_namer.domain.naming.ports.LanguageDetector`. Thread-safe;
    raises nothing for any text."""

    def __init__(self) -> None:
        self._detector = None
        self._lock = threading.Lock()

    def _built(self):  # noqa: ANN202 - lingua's detector type
        with self._lock:
            if self._detector is None:
                self._detector = (
                    LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()
                )
            return self._detector

    def detect(self, text: str) -> str | None:
        """ISO 639-1 code (``"fr"``) of ``text``'s language, or None (no letters)."""
        language = self._built().detect_language_of(text)
        return language.iso_code_639_1.name.lower() if language is not None else None

    def confident(self, text: str, threshold: float) -> str | None:
        """The language of ``text`` when lingua gives it at least ``threshold`` confidence."""
        values = self._built().compute_language_confidence_values(text)
        if not values or values[0].value < threshold:
            return None
        return values[0].language.iso_code_639_1.name.lower()

    def candidates(self, text: str) -> list[tuple[str, float]]:
        """lingua's confidence values (0-1) per ISO 639-1 code, most likely first."""
        return [
            (value.language.iso_code_639_1.name.lower(), value.value)
            for value in self._built().compute_language_confidence_values(text)
        ]

    def confidence(self, text: str, language: str) -> float:
        """lingua's confidence (0-1) that ``text`` is in ``language``; 0.0 for an unknown code."""
        try:
            target = Language.from_iso_code_639_1(IsoCode639_1.from_str(language))
        except ValueError:
            return 0.0
        return self._built().compute_language_confidence(text, target)

    @staticmethod
    def name_of(code: str | None) -> str | None:
        """The English name of an ISO 639-1 code (``"fr"`` → ``"french"``), or None."""
        if not code:
            return None
        try:
            return Language.from_iso_code_639_1(IsoCode639_1.from_str(code)).name.lower()
        except ValueError:
            return None
