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
from urllib.parse import urlsplit

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
_CONNECTORS = frozenset("of in for on with de del della des di du da do en von für".split())
# Words that may join two keyphrases into one name ("Letter for a PhD Position").
_JOINERS = _CONNECTORS | frozenset(
    "a an the to about from la le les el los las un une una der die das mit".split()
)
# Request verbs, greetings and politeness: YAKE's stopword lists keep many of them, a
# title neither starts nor ends with them.
_FILLER_WORDS = frozenset(
    """
    act add answer ask asked assist assistant called chatgpt continue create describe
    explain find generate get give go help imagine keep kindly know learn let make need
    present pretend provide remember rewrite show summarize summarise tell thank thanks
    try understand using want write writing based
    hola escribe escríbeme explica explícame dame ayúdame necesito crea
    bonjour salut écris écrivez explique expliquez donne aide merci
    peux-tu pouvez-vous
    hallo schreibe schreib erkläre erklär gib bitte danke
    ciao scrivi spiega dammi aiutami grazie
    olá oi escreva explique
    привет здравствуйте напиши напишите объясни расскажи создай помоги дай пожалуйста спасибо
    """.split()
)
_UNSPACED_PREFIXES = ("请帮我", "请帮忙", "请问", "帮我", "请你", "请", "你能", "能否", "可以")
_SHORT_TEXT_CHARS = 120
_LINE_LANGUAGE_MIN_CONFIDENCE = 0.05
_UNSPACED_TITLE_CHARS = 16
_MAX_TITLE_WORDS = 6
_CANDIDATES = 20
_NEAR_BEST = 1.1
_SUPERSET_RANK = 5
_SECOND_MAX = 3.0
_MAX_GAP_WORDS = 3

_FENCED_CODE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_CODE_CHARS = re.compile(r"[{}\[\]()<>=;$\\|&^~@*/]")
_WORD_LIKE = re.compile(r"[(\"'«“]?[^\W\d_][\w'’.+#-]*[.,:;!?)\"'»”]*")
_CLAUSE_END = re.compile(r"[。！？!?；;，,：:\n]+|\.(?:\s|$)")
_GREETINGS = frozenset(
    {
        "你好",
        "您好",
        "嗨",
        "哈喽",
        "大家好",
        "こんにちは",
        "こんばんは",
        "おはよう",
        "おはようございます",
        "สวัสดี",
        "สวัสดีครับ",
        "สวัสดีค่ะ",
    }
)


class ExtractiveNamer:
    """Names a conversation from its first exchanges, offline and without a language model.

    Shape: ``propose(turns) -> str | None``, a single-line name of at most 10 words
    (typically 2-6) in the language of the user's turns, or ``None`` when no usable name
    can be made (the caller retries later). Reads at most the first 3 exchanges, 500
    characters per turn (:func:`~parley_namer.domain.names.prepare_turns`); code, URLs
    and markup are set aside first.

    Method:

    * Language: lingua (all 75 languages, low-accuracy mode: about 80 MB resident and
      0.4 s to build on first use, against about 1 GB for high accuracy) on the user's
      turns, read together with the replies when the user's text is short (under 120
      letters), where this mode is unreliable on its own.
    * Keyphrases: YAKE (Campos et al. 2020, "YAKE! Keyword extraction from single
      documents using multiple local features", Information Sciences 509) on the user's
      lines in that language, with its stopwords plus English ones (English alone where
      YAKE has no list); request words ("write", "explain") are trimmed. The name is the
      best phrase of the first user message, extended to the text joining it to a
      second good phrase ("Letter for a PhD Position"), or completed by another phrase
      when it is a single word.
    * Chinese, Japanese, Thai and other scripts written without spaces: the first
      clause of the user's first message, cut to 16 characters.
    * Casing: Title Case for English, upper-case first letter otherwise (no change for
      scripts without case); mixed-case spellings used in the conversation (``ArgoCD``,
      ``HTTP``) are kept.

    Thread-safe; CPU-bound and synchronous (median about 10-20 ms per call on real
    conversations). Raises nothing for any text input.
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
        return self.propose_with_language(turns)[0]

    def propose_with_language(self, turns: Sequence[Turn]) -> tuple[str | None, str | None]:
        """:meth:`propose`, with the ISO 639-1 code of the language the name was made in
        (the language read from the whole conversation, or None). Raises nothing."""
        kept = prepare_turns(turns)
        user_contents = [t.content for t in kept if t.role == "user" and t.content.strip()]
        if not user_contents:
            return None, None
        user_text = _prose("\n".join(user_contents))
        assistant_text = _prose("\n".join(t.content for t in kept if t.role == "assistant"))
        language = self._conversation_language(user_text, assistant_text)
        script = _main_script(user_text)
        if language in _UNSPACED_LANGUAGES or script in _UNSPACED_SCRIPTS:
            name = _first_clause(user_contents, script)
        else:
            first = _prose(user_contents[0])
            name = self._keyphrase_name(user_text, first, assistant_text, language)
        cleaned = clean_name(name) or clean_name(_url_name(user_contents[0]))
        if cleaned is None:
            return None, language
        return _capitalise(cleaned, language), language

    def detect_language(self, text: str) -> str | None:
        """ISO 639-1 code (lower case, e.g. ``"fr"``) of ``text``'s language, or ``None``.

        ``None`` when lingua cannot tell (no letters). Texts under about 120 characters
        are detected less reliably in the low-accuracy mode used here. Raises nothing.
        """
        language = self._language_detector().detect_language_of(text)
        return language.iso_code_639_1.name.lower() if language is not None else None

    # -- language ----------------------------------------------------------------------

    def _language_detector(self) -> LanguageDetector:
        """The lingua detector, built on first use: all languages, low-accuracy mode,
        models preloaded (about 0.4 s and 80 MB resident, against about 1 GB for the
        high-accuracy mode)."""
        with self._lock:
            if self._detector is None:
                self._detector = (
                    LanguageDetectorBuilder.from_all_languages()
                    .with_low_accuracy_mode()
                    .with_preloaded_language_models()
                    .build()
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
            if detector.compute_language_confidence(line, target) >= _LINE_LANGUAGE_MIN_CONFIDENCE
        ]
        return "\n".join(lines) if any(_letters(line) for line in lines) else text

    # -- keyphrases --------------------------------------------------------------------

    def _extractor(self, language: str | None) -> yake.KeywordExtractor:
        """YAKE extractor with the language's stopwords plus English ones (cached)."""
        code = _YAKE_CODES.get(language or "en", language or "en")
        with self._lock:
            extractor = self._extractors.get(code)
            if extractor is None:
                english = yake.KeywordExtractor(lan="en").stopword_set
                own = yake.KeywordExtractor(lan=code).stopword_set
                extractor = yake.KeywordExtractor(
                    lan=code,
                    n=3,
                    dedup_lim=0.7,
                    top=_CANDIDATES,
                    stopwords=(own | english) - {""},
                )
                self._extractors[code] = extractor
            return extractor

    def _keyphrases(self, text: str, language: str | None) -> list[tuple[str, float]]:
        """YAKE keyphrases of ``text`` with their scores (lower is better), best first.

        Request words at the edges ("explain", "write") are trimmed, and in English a
        trailing participle ("press release announcing"). A phrase is dropped when it
        then starts or ends with a stopword, holds a stopword other than a connector
        ("of", "de", ...), or repeats a word.
        """
        if not any(ch.isalpha() for ch in text):
            return []
        extractor = self._extractor(language)
        stopwords = extractor.stopword_set
        scored: dict[str, tuple[float, int, int, str]] = {}
        for phrase, score in extractor.extract_keywords(text):
            words = phrase.split()
            if words and words[0].casefold() in _FILLER_WORDS:
                words.pop(0)
            if words and words[-1].casefold() in _FILLER_WORDS:
                words.pop()
            if language == "en" and _dangling_verb([w.casefold() for w in words]):
                words.pop()
            lowered = [w.casefold() for w in words]
            if (
                not lowered
                or _is_filler(lowered[0], stopwords)
                or _is_filler(lowered[-1], stopwords)
                or any(w in stopwords and w not in _CONNECTORS for w in lowered[1:-1])
                or len(set(lowered)) < len(lowered)
                or (len(words) == 1 and len(words[0]) < 2)
                or not any(ch.isalpha() for ch in phrase)
            ):
                continue
            key = " ".join(lowered)
            rank = (float(score), sum(w in stopwords for w in lowered), -len(words))
            if key not in scored or rank < scored[key][:3]:
                scored[key] = (*rank, " ".join(words))
        return [(phrase, score) for score, _, _, phrase in sorted(scored.values())]

    def _keyphrase_name(
        self,
        user_text: str,
        first_message: str,
        assistant_text: str,
        language: str | None,
    ) -> str:
        """A name from the keyphrases of the user's lines in the conversation's language.

        Phrases come from the first user message (from all user turns when it has none).
        The best is taken among those in the text's main script, the earliest of the
        near-best, and grows into a longer top phrase that holds it. When another good
        phrase stands next to it, joined by at most 3 words such as "for a", the name is
        that stretch of text ("Letter for a PhD Position"); a name that is still a single
        word is completed by the best phrase sharing no word with it (user's first, then
        the assistant's).
        """
        own_lines = self._in_language(user_text, language)
        script = _main_script(own_lines)
        phrases = self._keyphrases(self._in_language(first_message, language), language)
        all_phrases = self._keyphrases(own_lines, language) if not phrases else None
        phrases = phrases or all_phrases or []
        if not phrases:
            return ""
        best, best_score = _best_phrase(phrases, script, _flat(user_text))
        name = best
        for other, score in phrases:
            if other == best or score > best_score * _SECOND_MAX:
                continue
            span = _span(first_message, best, other)
            if span is not None:
                name = span
                break
        if len(name.split()) == 1:
            if all_phrases is None:
                all_phrases = self._keyphrases(own_lines, language)
            assistant_phrases = self._keyphrases(
                self._in_language(assistant_text, language), language
            )
            others = [p for p, _ in phrases + all_phrases + assistant_phrases]
            name = _completed(name, others, script, _flat(f"{user_text}\n{assistant_text}"))
        if _shouting(user_text):
            return name.lower()
        return _restore_case(name, f"{user_text}\n{assistant_text}")


def _best_phrase(phrases: list[tuple[str, float]], script: str, text: str) -> tuple[str, float]:
    """The earliest in ``text`` of the near-best phrases in ``script`` (any script if
    none), grown into a longer top phrase that holds it; with its score."""
    pool = [(p, s) for p, s in phrases if _has_script(p, script)] or phrases
    limit = pool[0][1] * _NEAR_BEST
    best, score = min(
        ((p, s) for p, s in pool if s <= limit), key=lambda ps: _position(text, ps[0])
    )
    for longer, longer_score in phrases[:_SUPERSET_RANK]:
        if len(best.split()) < len(longer.split()) < _MAX_TITLE_WORDS and (
            f" {best.casefold()} " in f" {longer.casefold()} "
        ):
            return longer, longer_score
    return best, score


def _completed(word: str, others: list[str], script: str, text: str) -> str:
    """``word`` and the first of ``others`` that shares no word with it, in text order."""
    for other in others:
        words = other.casefold().split()
        if len(words) >= _MAX_TITLE_WORDS or not _has_script(other, script):
            continue
        if any(w in word.casefold() or word.casefold() in w for w in words):
            continue
        return " ".join(sorted([word, other], key=lambda p: _position(text, p)))
    return word


def _span(text: str, a: str, b: str) -> str | None:
    """The stretch of ``text`` from phrase ``a`` to phrase ``b`` (either order) when only
    0-3 joining words ("for a") stand between them and it has at most 6 words."""
    for left, right in ((a, b), (b, a)):
        pattern = (
            rf"(?<!\w){_loose(left)}(?P<gap>(?:\s+[^\W\d_][\w'-]*){{0,{_MAX_GAP_WORDS}}}?)"
            rf"\s+{_loose(right)}(?!\w)"
        )
        for match in re.finditer(pattern, text, re.IGNORECASE):
            gap = match.group("gap").casefold().split()
            span = match.group(0)
            if all(w in _JOINERS for w in gap) and len(span.split()) <= _MAX_TITLE_WORDS:
                return " ".join(span.split())
    return None


def _loose(phrase: str) -> str:
    """Regex for ``phrase`` with any run of whitespace between its words."""
    return r"\s+".join(re.escape(w) for w in phrase.split())


def _script(ch: str) -> str:
    """First word of the character's Unicode name (LATIN, CYRILLIC, CJK, ...)."""
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


def _main_script(text: str) -> str:
    """Script of most of the text's words; a character of a script without spaces counts
    as a short word (a third of a Latin word's letters)."""
    counts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha():
            script = _script(ch)
            counts[script] += 3 if script in _UNSPACED_SCRIPTS else 1
    return counts.most_common(1)[0][0] if counts else ""


def _has_script(phrase: str, script: str) -> bool:
    return not script or any(_script(ch) == script for ch in phrase if ch.isalpha())


def _shouting(text: str) -> bool:
    """Mostly upper-case text, whose capitals say nothing about names or acronyms."""
    cased = [ch for ch in text if ch.isupper() or ch.islower()]
    return len(cased) >= 20 and sum(ch.isupper() for ch in cased) > 0.6 * len(cased)


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _prose(text: str) -> str:
    """The text without fenced code, code-like lines, URLs and code symbols.

    A line is kept when at least 60% of its tokens are words (or runs of a script
    without spaces), and ends a sentence so that no keyphrase spans two lines. When no
    line is kept (a message of code only), the whole text is used, code symbols removed.
    """
    text = _URL.sub(" ", _FENCED_CODE.sub("\n", text)).replace("\u2019", "'")
    kept = []
    for line in text.splitlines():
        tokens = line.split()
        if tokens and sum(_word_like(t) for t in tokens) >= 0.6 * len(tokens):
            line = _CODE_CHARS.sub(" ", line).rstrip()
            kept.append(line if _ends_sentence(line) else f"{line}.")
    prose = "\n".join(kept)
    return prose if any(ch.isalpha() for ch in prose) else _CODE_CHARS.sub(" ", text)


def _word_like(token: str) -> bool:
    """A word with optional punctuation, or a run of text in a script without spaces."""
    if _WORD_LIKE.fullmatch(token):
        return True
    return sum(_script(ch) in _UNSPACED_SCRIPTS for ch in token if ch.isalpha()) >= 2


def _ends_sentence(line: str) -> bool:
    return not line or unicodedata.category(line[-1])[0] == "P"


def _is_filler(word: str, stopwords: set[str]) -> bool:
    return word in stopwords or word in _FILLER_WORDS or word in GENERIC_WORDS


def _dangling_verb(words: list[str]) -> bool:
    """English phrase ending in a participle ("press release announcing", "parameter called")."""
    if not words:
        return False
    last = words[-1]
    if len(words) >= 2 and len(last) > 4 and last.endswith("ed") and not last.endswith("eed"):
        return True
    return len(words) >= 3 and last.endswith("ing")


def _flat(text: str) -> str:
    """Case-folded text on one line, single-spaced, for finding phrases in it."""
    return " ".join(text.casefold().split())


def _position(text: str, phrase: str) -> int:
    at = text.find(phrase.casefold())
    return at if at >= 0 else len(text)


def _restore_case(name: str, text: str) -> str:
    """Spell a lower-case word in mixed case or as a short acronym when the conversation
    does so at least as often as in lower case (``argocd`` -> ``ArgoCD``), and an
    upper-case word in lower case when the conversation mostly does."""
    forms: dict[str, Counter[str]] = {}
    for token in re.findall(r"[^\W_][\w.+#-]*[\w+#]|[^\W_]", text):
        mixed = token[1:] != token[1:].lower() and token != token.upper()
        acronym = token == token.upper() and 2 <= len(token) <= 5
        if mixed or acronym or token == token.lower():
            forms.setdefault(token.casefold(), Counter())[token] += 1
    words = []
    for word in name.split():
        seen = forms.get(word.casefold(), Counter())
        lower = seen[word.lower()]
        special = [(n, form) for form, n in seen.items() if form != word.lower()]
        if word == word.lower() and special and max(special)[0] >= lower:
            word = max(special)[1]
        elif len(word) > 1 and word == word.upper() and lower > seen[word]:
            word = word.lower()
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
            for prefix in _UNSPACED_PREFIXES:
                if clause.startswith(prefix) and len(clause) > len(prefix) + 1:
                    clause = clause[len(prefix) :]
                    break
            if clean_name(clause) is not None:
                return _cut(clause, _UNSPACED_TITLE_CHARS)
    return ""


def _cut(text: str, limit: int) -> str:
    """About ``limit`` characters: combining marks stay with their letter, and a word of
    a script with spaces is not cut in two."""
    if len(text) <= limit:
        return text
    while limit < len(text) and unicodedata.category(text[limit]).startswith("M"):
        limit += 1
    if limit == len(text):
        return text
    cut = text[:limit]
    if text[limit].isalnum() and cut[-1].isalnum() and _script(cut[-1]) not in _UNSPACED_SCRIPTS:
        i = len(cut)
        while i > 0 and cut[i - 1].isalnum() and _script(cut[i - 1]) not in _UNSPACED_SCRIPTS:
            i -= 1
        cut = cut[:i] if i > limit // 2 else cut
    return cut.rstrip()


_URL_NOISE = frozenset(
    {
        "www",
        "com",
        "org",
        "net",
        "html",
        "htm",
        "php",
        "asp",
        "aspx",
        "jsp",
        "do",
        "index",
        "http",
        "https",
    }
)


def _url_name(text: str) -> str:
    """Words of the first link in ``text`` (site and path, no ids or extensions), for a
    message that is nothing but a link: ``https://projudi2.tjpr.jus.br/projudi/mediaplayer.do``
    gives ``projudi mediaplayer``. Empty when there is no link."""
    match = _URL.search(text)
    if match is None:
        return ""
    url = match.group(0)
    parsed = urlsplit(url if "://" in url else f"http://{url}")
    labels = [label for label in (parsed.hostname or "").split(".")[:-1] if len(label) > 3]
    words: list[str] = []
    for token in re.split(r"[^A-Za-z0-9]+", " ".join(labels[:1]) + " " + parsed.path):
        word = token.rstrip("0123456789").lower()
        if len(word) > 2 and word.isalpha() and word not in _URL_NOISE and word not in words:
            words.append(word)
    return " ".join(words[:4])
