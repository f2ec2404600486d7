"""The offline namer wired to its libraries: lingua, YAKE and the word segmenters."""

from __future__ import annotations

from parley_namer.domain.naming.namer import KeyphraseNamer

from .language import LinguaDetector
from .segmenters import Segmenters
from .yake_keyphrases import YakeKeyphrases


class ExtractiveNamer(KeyphraseNamer):
    """:class:`~parley_namer.domain.naming.namer.KeyphraseNamer` with lingua for languages, YAKE
    for keyphrases and rjieba / BudouX / PyThaiNLP for Chinese, Japanese and Thai words.

    Median about 10-20 ms per call on real conversations once warm; the first call loads the
    language models (about 0.5 s). Thread-safe; raises nothing for any text input.
    """

    def __init__(self) -> None:
        super().__init__(LinguaDetector(), YakeKeyphrases(), Segmenters())

    def detect_language(self, text: str) -> str | None:
        """ISO 639-1 code (lower case, e.g. ``"fr"``) of ``text``'s language, or None."""
        return self.detector.detect(text)
