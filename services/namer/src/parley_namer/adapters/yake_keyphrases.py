"""Keyphrases with YAKE: R. Campos, V. Mangaravite, A. Pasquali, A. Jorge, C. Nunes, A. Jatowt
(2020), "YAKE! Keyword extraction from single documents using multiple local features",
Information Sciences 509, 257-289 (package ``yake``, LIAAD/yake)."""

from __future__ import annotations

import contextlib
import functools
import io
import threading
from pathlib import Path

import yake

_YAKE_CODES = {"cs": "cz", "nb": "no", "nn": "no"}
_CANDIDATES = 20
#: Texts whose keyphrases are kept (least recently used out).
CACHED_TEXTS = 256
_STOPWORDS = Path(yake.__file__).parent / "core" / "StopwordsList"


class YakeKeyphrases:
    """:class:`~parley_namer.domain.naming.ports.KeyphraseExtractor` over YAKE.

    Phrases of 1-3 words, deduplicated at 0.7, the 20 best, with the language's stopwords plus
    English ones (English alone where YAKE has no list). Extractors and stopword sets are
    cached per language, keyphrases per text and language (``functools.lru_cache``,
    :data:`CACHED_TEXTS`): a first message is read again by the name that follows its
    provisional one. Thread-safe; raises nothing for any text.
    """

    def __init__(self) -> None:
        self._extractors: dict[str, yake.KeywordExtractor] = {}
        self._stopwords: dict[str, frozenset[str]] = {}
        self._own: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()
        self._extract = functools.lru_cache(maxsize=CACHED_TEXTS)(self._extract_now)

    def _extractor(self, language: str | None) -> yake.KeywordExtractor:
        code = _YAKE_CODES.get(language or "en", language or "en")
        with self._lock:
            extractor = self._extractors.get(code)
            if extractor is None:
                with contextlib.redirect_stdout(io.StringIO()):  # a notice on Latin-1 lists
                    english = yake.KeywordExtractor(lan="en").stopword_set
                    own = yake.KeywordExtractor(lan=code).stopword_set
                extractor = yake.KeywordExtractor(
                    lan=code, n=3, dedup_lim=0.7, top=_CANDIDATES, stopwords=(own | english) - {""}
                )
                self._extractors[code] = extractor
                self._stopwords[code] = frozenset(extractor.stopword_set)
            return extractor

    def extract(self, text: str, language: str | None) -> list[tuple[str, float]]:
        """YAKE keyphrases of ``text`` with their scores (lower is better), best first (a new
        list at each call)."""
        if not any(ch.isalpha() for ch in text):
            return []
        return list(self._extract(text, language))

    def _extract_now(self, text: str, language: str | None) -> tuple[tuple[str, float], ...]:
        return tuple((p, float(s)) for p, s in self._extractor(language).extract_keywords(text))

    def function_words(self, language: str) -> frozenset[str]:
        """YAKE's stopword list of ``language`` alone; empty when YAKE has none."""
        code = _YAKE_CODES.get(language, language)
        with self._lock:
            words = self._own.get(code)
            if words is None:
                path = _STOPWORDS / f"stopwords_{code}.txt"
                try:
                    text = path.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    text = path.read_text(encoding="iso-8859-1")
                except OSError:
                    text = ""
                words = self._own[code] = frozenset(w.strip().casefold() for w in text.split())
            return words

    def stopwords(self, language: str | None) -> frozenset[str]:
        """The stopwords used for ``language`` (its own and English ones), lower case; the same
        set at each call."""
        self._extractor(language)
        return self._stopwords[_YAKE_CODES.get(language or "en", language or "en")]
