"""Word segmentation of scripts written without spaces.

Chinese: ``rjieba`` (Python binding of jieba-rs, the Rust port of jieba's dictionary and HMM
segmenter). Japanese: BudouX (Google, ``budoux``), whose phrase boundaries (bunsetsu) are where a
Japanese title may be cut. Thai: PyThaiNLP's ``newmm`` dictionary segmenter (maximal matching
constrained by Thai character clusters). Other scripts fall back to single characters.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from parley_namer.domain.naming.scripts import script

_Cut = Callable[[str], list[str]]


def _chinese() -> _Cut:
    import rjieba

    return rjieba.cut


def _japanese() -> _Cut:
    import budoux

    return budoux.load_default_japanese_parser().parse


def _thai() -> _Cut:
    from pythainlp.tokenize import word_tokenize

    def cut(text: str) -> list[str]:
        return list(word_tokenize(text, engine="newmm", keep_whitespace=True))

    return cut


_LOADERS: dict[str, Callable[[], _Cut]] = {"zh": _chinese, "ja": _japanese, "th": _thai}


def _language_of(text: str) -> str | None:
    """Japanese when kana appear, Chinese for other CJK text, Thai for Thai letters."""
    scripts = {script(ch) for ch in text if ch.isalpha()}
    if scripts & {"HIRAGANA", "KATAKANA"}:
        return "ja"
    if "CJK" in scripts:
        return "zh"
    if "THAI" in scripts:
        return "th"
    return None


class Segmenters:
    """:class:`~parley_namer.domain.naming.ports.WordSegmenter` choosing a segmenter by language
    (``zh``, ``ja``, ``th``; by the text's script when the language is another or unknown).
    Each segmenter is loaded on first use. Thread-safe; raises nothing for any text."""

    def __init__(self) -> None:
        self._cuts: dict[str, _Cut] = {}
        self._lock = threading.Lock()

    def _cut(self, language: str) -> _Cut:
        with self._lock:
            cut = self._cuts.get(language)
            if cut is None:
                cut = self._cuts[language] = _LOADERS[language]()
            return cut

    def words(self, text: str, language: str | None) -> list[str]:
        """The words of ``text`` in order; ``"".join(result) == text``."""
        chosen: Any = language if language in _LOADERS else _language_of(text)
        if chosen is None or not text:
            return list(text)
        words = [w for w in self._cut(chosen)(text) if w]
        return words if "".join(words) == text else list(text)
