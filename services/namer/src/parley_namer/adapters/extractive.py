"""Offline extractive session namer: keyphrases (YAKE) in the conversation's language (lingua).

Sources:
    YAKE: R. Campos, V. Mangaravite, A. Pasquali, A. Jorge, C. Nunes, A. Jatowt (2020),
    "YAKE! Keyword extraction from single documents using multiple local features",
    Information Sciences 509, 257-289. Package ``yake`` (LIAAD/yake).
    lingua: P. M. Stahl, lingua-py (github.com/pemistahl/lingua-py), package
    ``lingua-language-detector``.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Sequence

import yake
from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from parley_namer.domain.names import GENERIC_WORDS, Turn, clean_name, prepare_turns

_UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my"})
_UNSPACED_SCRIPTS = frozenset({"CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR"})
_YAKE_CODES = {"cs": "cz", "nb": "no", "nn": "no"}
_ENGLISH_MINOR_WORDS = frozenset(
    "a about an and as at but by for from in into nor of on or per the to vs via with".split()
)
# Stopwords that may stand inside a title ("Reflection in Java", "Traduction en français").
_CONNECTORS = frozenset(
    "of in for on with de del della des di du da do en von für".split()
)
# Request verbs and politeness: YAKE's stopword lists keep them, a title does not start
# or end with them.
_FILLER_WORDS = frozenset(
    """
    act answer ask asked assist assistant chatgpt continue create describe detail detailed
    example examples explain generate give imagine kindly list make pretend provide question
    questions rewrite show summarize summarise tell thank thanks want write writing
    """.split()
)
_SHORT_TEXT_CHARS = 120
_LINE_LANGUAGE_MIN_CONFIDENCE = 0.05
_UNSPACED_TITLE_CHARS = 16
_MAX_TITLE_WORDS = 6
_CANDIDATES = 20

_FENCED_CODE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_CODE_CHARS = re.compile(r"[{}\[\]()<>=;$\\|&^~@*/]")
_WORD_LIKE = re.compile(r"[(\"'«“]?[^\W\d_][\w'’.+#-]*[.,:;!?)\"'»”]*")
_CLAUSE_END = re.compile(r"[。！？!?；;，,：:\n]+|\.(?:\s|$)")
_GREETINGS = frozenset(
    {"你好", "您好", "嗨", "哈喽", "大家好", "こんにちは", "こんばんは", "おはよう",
     "おはようございます", "สวัสดี", "สวัสดีครับ", "สวัสดีค่ะ"}
)


class ExtractiveNamer:
    """Names a conversation from its first exchanges, offline and without a language model.

    Shape: ``propose(turns) -> str | None``, a single-line name of at most 10 words
    (typically 2-6) in the language of the user's turns, or ``None`` when no usable name
    can be made (the caller retries later). Reads at most the first 3 exchanges, 500
    characters per turn (:func:`~parley_namer.domain.names.prepare_turns`).

    Method: the language is detected with lingua (all 75 languages, low-accuracy mode:
    about 75 MB resident instead of about 1 GB for high accuracy; built lazily on first
    use). Keyphrases are ranked with YAKE (Campos et al. 2020, "YAKE! Keyword extraction
    from single documents using multiple local features", Information Sciences 509) with
    that language's stopwords (English ones where YAKE has no list). The name is the best
    phrase of the user's turns, those of the first message first, completed by a second
    non-overlapping phrase when it is a single word. Chinese, Japanese, Thai and other
    scripts written without spaces are named by the first clause of the user's first
    message, cut to 16 characters. Casing: Title Case for English, upper-case first
    letter otherwise (no change for scripts without case); mixed-case spellings seen in
    the conversation (``ArgoCD``, ``HTTP``) are kept.

    Thread-safe; CPU-bound and synchronous. Raises nothing for any text input.
    """

    def __init__(self) -> None:
        self._detector: LanguageDetector | None = None
        self._extractors: dict[str, yake.KeywordExtractor] = {}
        self._lock = threading.Lock()

    def propose(self, turns: Sequence[Turn]) -> str | None:
        """A short title for the conversation, in its language, or ``None``.

        ``turns``: the conversation from its start (:class:`Turn`, roles ``"user"`` and
        ``"assistant"``); only the first 3 exchanges, 500 characters per turn, are read.
        Returns at most 10 words on one line, without quotes, markup or the words of
        ``GENERIC_WORDS``. ``None`` when the user's turns hold nothing to name (empty,
        greetings or "test" only). Raises nothing.
        """
        kept = prepare_turns(turns)
        user_contents = [t.content for t in kept if t.role == "user" and t.content.strip()]
        if not user_contents:
            return None
        user_text = _prose("\n".join(user_contents))
        assistant_text = _prose("\n".join(t.content for t in kept if t.role == "assistant"))
        language = self._conversation_language(user_text, assistant_text)
        script = _main_script(user_text)
        if language in _UNSPACED_LANGUAGES or script in _UNSPACED_SCRIPTS:
            name = _first_clause(user_contents, script)
        else:
            first = _prose(user_contents[0])
            name = self._keyphrase_name(user_text, first, assistant_text, language, script)
        cleaned = clean_name(name)
        return _capitalise(cleaned, language) if cleaned is not None else None

    def detect_language(self, text: str) -> str | None:
        """ISO 639-1 code (lower case, e.g. ``"fr"``) of ``text``'s language, or ``None``.

        ``None`` when lingua cannot tell (no letters). Texts under about 120 characters
        are detected less reliably in the low-accuracy mode used here. Raises nothing.
        """
        language = self._language_detector().detect_language_of(text)
        return language.iso_code_639_1.name.lower() if language is not None else None

    # -- language ----------------------------------------------------------------------

    def _language_detector(self) -> LanguageDetector:
        with self._lock:
            if self._detector is None:
                self._detector = (
                    LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()
                )
            return self._detector

    def _conversation_language(self, user_text: str, assistant_text: str) -> str | None:
        """The user's language; a short user text is read together with the replies."""
        if _letters(user_text) < _SHORT_TEXT_CHARS and assistant_text:
            return self.detect_language(f"{user_text}\n{assistant_text}")
        return self.detect_language(user_text)

    def _in_language(self, text: str, language: str | None) -> str:
        """The lines of ``text`` that may be in ``language``; all of them if none is."""
        if language is None:
            return text
        target = Language.from_iso_code_639_1(IsoCode639_1.from_str(language))
        detector = self._language_detector()
        lines = [
            line
            for line in text.splitlines()
            if detector.compute_language_confidence(line, target)
            >= _LINE_LANGUAGE_MIN_CONFIDENCE
        ]
        return "\n".join(lines) if any(_letters(line) for line in lines) else text

    # -- keyphrases --------------------------------------------------------------------

    def _extractor(self, language: str | None) -> yake.KeywordExtractor:
        code = _YAKE_CODES.get(language or "en", language or "en")
        with self._lock:
            extractor = self._extractors.get(code)
            if extractor is None:
                extractor = yake.KeywordExtractor(lan=code, n=3, dedup_lim=0.7, top=_CANDIDATES)
                if not extractor.stopword_set - {""}:
                    extractor = yake.KeywordExtractor(
                        lan="en", n=3, dedup_lim=0.7, top=_CANDIDATES
                    )
                self._extractors[code] = extractor
            return extractor

    def _keyphrases(self, text: str, language: str | None) -> list[str]:
        """YAKE keyphrases of ``text``, best first, without those a title can't be."""
        if not any(ch.isalpha() for ch in text):
            return []
        extractor = self._extractor(language)
        stopwords = extractor.stopword_set
        phrases: list[str] = []
        seen: set[str] = set()
        for phrase, _score in extractor.extract_keywords(text):
            words = phrase.split()
            lowered = [w.casefold() for w in words]
            if (
                _is_filler(lowered[0], stopwords)
                or _is_filler(lowered[-1], stopwords)
                or any(w in stopwords and w not in _CONNECTORS for w in lowered[1:-1])
                or len(set(lowered)) < len(lowered)
                or (len(words) == 1 and len(words[0]) < 2)
                or (language == "en" and _dangling_verb(lowered))
                or not any(ch.isalpha() for ch in phrase)
                or phrase.casefold() in seen
            ):
                continue
            seen.add(phrase.casefold())
            phrases.append(phrase)
        return phrases

    def _keyphrase_name(
        self,
        user_text: str,
        first_message: str,
        assistant_text: str,
        language: str | None,
        script: str,
    ) -> str:
        user_phrases = self._keyphrases(self._in_language(user_text, language), language)
        first = first_message.casefold()
        ranked = sorted(
            user_phrases,
            key=lambda p: (not _has_script(p, script), p.casefold() not in first),
        )
        if not ranked:
            return ""
        parts = [ranked[0]]
        if len(ranked[0].split()) == 1:
            assistant_phrases = self._keyphrases(
                self._in_language(assistant_text, language), language
            )
            taken = ranked[0].casefold()
            for other in ranked[1:] + assistant_phrases:
                words = other.casefold().split()
                if len(words) > _MAX_TITLE_WORDS - 1 or not _has_script(other, script):
                    continue
                if any(w in taken or taken in w for w in words):
                    continue
                parts.append(other)
                break
            whole = f"{user_text}\n{assistant_text}".casefold()
            parts.sort(key=lambda p: _position(whole, p))
        return _restore_case(" ".join(parts), f"{user_text}\n{assistant_text}")


def _script(ch: str) -> str:
    """First word of the character's Unicode name (LATIN, CYRILLIC, CJK, ...)."""
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


def _main_script(text: str) -> str:
    counts = Counter(_script(ch) for ch in text if ch.isalpha())
    return counts.most_common(1)[0][0] if counts else ""


def _has_script(phrase: str, script: str) -> bool:
    return not script or any(_script(ch) == script for ch in phrase if ch.isalpha())


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _prose(text: str) -> str:
    """The text without fenced code, code-like lines, URLs and code symbols.

    A line is kept when at least 60% of its tokens look like words. When no line is
    kept (a message of code only), the whole text is used, code symbols removed.
    """
    text = _URL.sub(" ", _FENCED_CODE.sub("\n", text))
    kept = []
    for line in text.splitlines():
        tokens = line.split()
        if tokens and sum(bool(_WORD_LIKE.fullmatch(t)) for t in tokens) >= 0.6 * len(tokens):
            kept.append(_CODE_CHARS.sub(" ", line))
    prose = "\n".join(kept)
    return prose if any(ch.isalpha() for ch in prose) else _CODE_CHARS.sub(" ", text)


def _is_filler(word: str, stopwords: set[str]) -> bool:
    return word in stopwords or word in _FILLER_WORDS or word in GENERIC_WORDS


def _dangling_verb(words: list[str]) -> bool:
    """English phrase ending in a participle ("press release announcing", "parameter called")."""
    last = words[-1]
    if len(words) >= 2 and len(last) > 4 and last.endswith("ed") and not last.endswith("eed"):
        return True
    return len(words) >= 3 and last.endswith("ing")


def _position(text: str, phrase: str) -> int:
    at = text.find(phrase.casefold())
    return at if at >= 0 else len(text)


def _restore_case(name: str, text: str) -> str:
    """Use the conversation's mixed-case or short upper-case spelling of a lower-case word."""
    forms: dict[str, Counter[str]] = {}
    for token in re.findall(r"[^\W_][\w.+#-]*[\w+#]|[^\W_]", text):
        mixed = token[1:] != token[1:].lower() and token != token.upper()
        acronym = token == token.upper() and 2 <= len(token) <= 5
        if mixed or acronym:
            forms.setdefault(token.casefold(), Counter())[token] += 1
    words = []
    for word in name.split():
        if word == word.lower() and word.casefold() in forms:
            word = forms[word.casefold()].most_common(1)[0][0]
        words.append(word)
    return " ".join(words)


def _capitalise(name: str, language: str | None) -> str:
    """Title Case for English (minor words lower case), else upper-case first letter only."""
    words = name.split(" ")
    if language == "en":
        words = [
            w if (i > 0 and w.lower() in _ENGLISH_MINOR_WORDS) else w[:1].upper() + w[1:]
            for i, w in enumerate(words)
        ]
    else:
        words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words)


def _first_clause(user_contents: Sequence[str], script: str) -> str:
    """First meaningful clause of the user's messages, cut to a short title length."""
    for content in user_contents:
        for clause in _CLAUSE_END.split(_prose(content)):
            clause = clause.strip()
            if clause in _GREETINGS or len(clause) < 2 or not _has_script(clause, script):
                continue
            if clean_name(clause) is not None:
                return _cut(clause, _UNSPACED_TITLE_CHARS)
    return ""


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` characters, not ending inside a word of a spaced script."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if text[limit].isalnum() and cut[-1].isalnum() and _script(cut[-1]) not in _UNSPACED_SCRIPTS:
        i = len(cut)
        while i > 0 and cut[i - 1].isalnum() and _script(cut[i - 1]) not in _UNSPACED_SCRIPTS:
            i -= 1
        cut = cut[:i] if i > limit // 2 else cut
    return cut.rstrip()
