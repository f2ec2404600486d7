"""Language detection with lingua (P. M. Stahl, lingua-py, package ``lingua-language-detector``).

All languages in the low-accuracy mode (about 80 MB resident, built on first use); reliable on
sentences, weak on a few words, which is why :meth:`LinguaDetector.contradicts` counts only
near-certain answers.

Answers are memoised per text (:data:`CACHED_TEXTS` of each kind, least recently used out): a
conversation's first message is read again by the name that follows its provisional one, and by
the offline fallback of a model's answer.
"""

from __future__ import annotations

import functools
import threading

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

#: Confidence (0-1) among all languages above which a title's own language counts.
ANY_LANGUAGE_CONFIDENCE = 0.99
#: The expected language's confidence at or under which it is ruled out.
EXPECTED_FLOOR = 0.001
#: Words a title needs before the all-languages check applies.
MIN_WORDS = 3
#: Confidence of English against the expected language alone above which a title is English.
ENGLISH_CONFIDENCE = 0.97
#: Texts whose answers each memo keeps (detections, candidate lists, confidences).
CACHED_TEXTS = 256


class LinguaDetector:
    """The :class:`~parley_namer.domain.policy.LanguageDetector` port over lingua, and the
    offline namer's :class:`~parley_namer.domain.naming.ports.LanguageDetector`. Thread-safe;
    raises nothing for any text. :meth:`detect`, :meth:`candidates` and :meth:`confidence` are
    memoised per exact text (``functools.lru_cache``, :data:`CACHED_TEXTS` each)."""

    def __init__(self) -> None:
        self._detector = None
        self._pairs: dict[Language, object] = {}
        self._lock = threading.Lock()
        memo = functools.lru_cache(maxsize=CACHED_TEXTS)
        self._detect = memo(self._detect_now)
        self._candidates = memo(self._candidates_now)
        self._confidence = memo(self._confidence_now)

    def _built(self):  # noqa: ANN202 - lingua's detector type
        with self._lock:
            if self._detector is None:
                self._detector = (
                    LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()
                )
            return self._detector

    def detect(self, text: str) -> str | None:
        """ISO 639-1 code (``"fr"``) of ``text``'s language, or None (no letters)."""
        return self._detect(text)

    def _detect_now(self, text: str) -> str | None:
        language = self._built().detect_language_of(text)
        return language.iso_code_639_1.name.lower() if language is not None else None

    def contradicts(self, text: str, expected: str) -> str | None:
        """Another language ``text`` (a short title) is surely in, rather than ``expected``;
        None when it may be in ``expected``.

        Short texts fool the detector ("Sunny Windowsill Basil" reads as Finnish at 0.93), so
        only near-certain answers count: among all languages, one at
        :data:`ANY_LANGUAGE_CONFIDENCE` or more while ``expected`` is at
        :data:`EXPECTED_FLOOR` or less, on :data:`MIN_WORDS` words or more; or, for a language
        other than English (the usual slip of a model), English at
        :data:`ENGLISH_CONFIDENCE` or more against ``expected`` alone.
        """
        target = _language(expected)
        if target is None:
            return None
        if target != Language.ENGLISH and len(text.split()) >= 2:
            pair = self._pair(target)
            if pair.compute_language_confidence(text, Language.ENGLISH) >= ENGLISH_CONFIDENCE:
                return "en"
        if len(text.split()) < MIN_WORDS:
            return None
        detector = self._built()
        values = detector.compute_language_confidence_values(text)
        if not values or values[0].value < ANY_LANGUAGE_CONFIDENCE:
            return None
        if detector.compute_language_confidence(text, target) > EXPECTED_FLOOR:
            return None
        return values[0].language.iso_code_639_1.name.lower()

    def candidates(self, text: str) -> list[tuple[str, float]]:
        """lingua's confidence values (0-1) per ISO 639-1 code, most likely first (a new list
        at each call)."""
        return list(self._candidates(text))

    def _candidates_now(self, text: str) -> tuple[tuple[str, float], ...]:
        return tuple(
            (value.language.iso_code_639_1.name.lower(), value.value)
            for value in self._built().compute_language_confidence_values(text)
        )

    def confidence(self, text: str, language: str) -> float:
        """lingua's confidence (0-1) that ``text`` is in ``language``; 0.0 for an unknown code."""
        return self._confidence(text, language)

    def _confidence_now(self, text: str, language: str) -> float:
        try:
            target = Language.from_iso_code_639_1(IsoCode639_1.from_str(language))
        except ValueError:
            return 0.0
        return self._built().compute_language_confidence(text, target)

    def _pair(self, target: Language):  # noqa: ANN202 - lingua's detector type
        with self._lock:
            if target not in self._pairs:
                self._pairs[target] = (
                    LanguageDetectorBuilder.from_languages(target, Language.ENGLISH)
                    .with_low_accuracy_mode()
                    .build()
                )
            return self._pairs[target]

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
