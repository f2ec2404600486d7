"""The offline namer: a title from the first exchanges, made of the conversation's own words.

Sources:
    YAKE keyphrases: R. Campos, V. Mangaravite, A. Pasquali, A. Jorge, C. Nunes, A. Jatowt
    (2020), "YAKE! Keyword extraction from single documents using multiple local features",
    Information Sciences 509, 257-289 (reached through :class:`~.ports.KeyphraseExtractor`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..names import GENERIC_WORDS, Turn, clean_name, prepare_turns
from .casing import capitalise, restore_case, shouting, unshouted
from .code import CODE_KINDS, code_topic
from .judging import conversation_language, is_verbatim_prefix
from .phrases import Scored, best_phrase, completed, filter_phrases, span
from .ports import KeyphraseExtractor, LanguageDetector, WordSegmenter
from .prose import flat, has_prose, prose, url_name
from .requests import topic
from .scripts import UNSPACED_LANGUAGES, UNSPACED_SCRIPTS, letters, main_script
from .unspaced import first_clause

_LINE_LANGUAGE_MIN_CONFIDENCE = 0.05
_SECOND_MAX = 3.0
_LONGER = 6
_FIRST_SENTENCE = re.compile(r"[^\n.!?]*")
_WIDEN_FROM = 3
_LONG_WORD = 12
_SENTENCE_END = re.compile(r"[.!?\n]")
_DEFINITION = re.compile(  # "what is argocd", "What is the thyroid for?": the whole sentence
    r"\s*(?:what\s+is|what's|whats|what\s+are)\s+(?:(?:a|an|the)\s+)?[^\s.?!]+"
    r"(?:\s+(?:for|about))?\s*(?:[.?!]|$)",
    re.IGNORECASE,
)
_EXPLAINED = "Explained"
"""Title word of a definition question about one term ("What is argocd?": "ArgoCD Explained")."""

ADDED_WORDS = frozenset({_EXPLAINED.casefold(), *CODE_KINDS})
"""The only words a name may hold that the conversation does not (lower case)."""


def _weak(asked: str | None) -> bool:
    """Whether a request's topic may give way to what its code defines: none, one word, or
    one that speaks of the code itself ("this code", "the function")."""
    if asked is None or len(asked.split()) < 2:
        return True
    return bool(set(asked.casefold().split()) & _CODE_WORDS)


_CODE_WORDS = frozenset("code script program function snippet".split())


def _capitalised(word: str, text: str) -> bool:
    """Whether ``word`` appears in ``text`` with a capital, not only at a sentence's start."""
    pattern = rf"(?<![.!?]\s)(?<!^)\b{re.escape(word)}\b"
    return any(m.group(0)[:1].isupper() for m in re.finditer(pattern, text, re.IGNORECASE))


def _stands_alone(word: str, user_text: str) -> bool:
    """Whether a one-word name needs no second phrase: the user wrote nothing else ("hooks"),
    or it is a long plain word, such as a compound ("Fantasygeschichte"), not an adverb or a
    participle."""
    if len(user_text.split()) <= 2:
        return True
    plain = word.isalpha() and not word.casefold().endswith(("ly", "ed", "ing"))
    return plain and len(word) >= _LONG_WORD


def _cut_from(name: str, message: str) -> bool:
    """Whether ``name`` is the start of a longer first sentence of ``message`` (more than
    :data:`_LONGER` words more): a statement's first words rather than what it is about."""
    sentence = _FIRST_SENTENCE.match(message)
    words = len((sentence.group(0) if sentence else message).split())
    return is_verbatim_prefix(name, message) and words > len(name.split()) + _LONGER


class KeyphraseNamer:
    """Names a conversation from its first exchanges, without a language model.

    Shape: ``propose_with_language(turns) -> (name, language)``: a single-line name of at most
    10 words (typically 2-6) in the language of the user's turns, or ``None`` when nothing can
    be named yet (the caller retries later); the language is an ISO 639-1 code or ``None``.
    Reads at most the first 3 exchanges, 500 characters per turn; code, URLs and markup are set
    aside first.

    Method: the language of the user's turns (read with the replies when short); for scripts
    without spaces, the first clause cut on a word boundary; otherwise keyphrases of the
    user's lines in that language: the best phrase of the first message, joined to a second
    phrase standing next to it ("Letter for a PhD Position"), or completed by another phrase
    when it is a single word. Title Case for English, the conversation's spellings kept.

    Thread-safe if its ports are. Raises nothing for any text input (ports permitting).
    """

    def __init__(
        self,
        detector: LanguageDetector,
        keyphrases: KeyphraseExtractor,
        segmenter: WordSegmenter,
    ) -> None:
        self.detector = detector
        self.keyphrases = keyphrases
        self.segmenter = segmenter

    def propose(self, turns: Sequence[Turn]) -> str | None:
        """The name alone (see :meth:`propose_with_language`)."""
        return self.propose_with_language(turns)[0]

    def propose_with_language(self, turns: Sequence[Turn]) -> tuple[str | None, str | None]:
        """A name for the conversation, or None, and the ISO 639-1 code of its language."""
        kept = prepare_turns(turns)
        user_contents = [t.content for t in kept if t.role == "user" and t.content.strip()]
        if not user_contents:
            return None, None
        user_text = prose("\n".join(user_contents))
        assistant_text = prose("\n".join(t.content for t in kept if t.role == "assistant"))
        language = self.conversation_language(user_text, assistant_text)
        script = main_script(user_text)
        casing: str | None = None
        if language in UNSPACED_LANGUAGES or script in UNSPACED_SCRIPTS:
            name = first_clause(
                user_contents,
                script,
                language,
                self.segmenter,
                lambda clause: clean_name(clause) is not None,
            )
        else:
            first = user_text if len(user_contents) == 1 else prose(user_contents[0])
            asked = None
            if has_prose(user_contents[0]):
                asked = topic(first, self.keyphrases.stopwords(language))
            defined = code_topic(user_contents[0], imports=asked is None) if _weak(asked) else None
            if defined is not None:
                name, casing = defined, "en"  # identifiers are spelled in English words
            else:
                name = self._keyphrase_name(user_text, first, assistant_text, language, asked)
        cleaned = clean_name(name) or clean_name(url_name(user_contents[0]))
        if cleaned is None:
            return None, language
        return capitalise(unshouted(cleaned), casing or language), language

    def conversation_language(self, user_text: str, assistant_text: str) -> str | None:
        """The user's language; a short user text is read together with the replies."""
        return conversation_language(
            user_text, assistant_text, self.detector, self.keyphrases.function_words
        )

    def _in_language(self, text: str, language: str | None) -> str:
        """The lines of ``text`` that may be in ``language``; all of them if none is."""
        if language is None:
            return text
        lines = [
            line
            for line in text.splitlines()
            if self.detector.confidence(line, language) >= _LINE_LANGUAGE_MIN_CONFIDENCE
        ]
        return "\n".join(lines) if any(letters(line) for line in lines) else text

    def _phrases(self, text: str, language: str | None) -> Scored:
        if not any(ch.isalpha() for ch in text):
            return []
        raw = self.keyphrases.extract(text, language)
        return filter_phrases(raw, self.keyphrases.stopwords(language), GENERIC_WORDS, language)

    def _widened(self, name: str, phrases: Scored, first_message: str, script: str) -> str:
        """A two-word ``name`` with the first message's next best phrase that shares no word
        with it and follows it in the same sentence: the stretch of text joining them
        when only joining words stand between ("Letter for a PhD Position"), else both in text
        order when that phrase has two words or is a capitalised word ("Daily Cut Singapore");
        a lone lower-case word ("lay", "due") says too little. Unchanged if none fits."""
        words = {w.casefold() for w in name.split()}
        text = " ".join(first_message.casefold().split(" "))
        start = text.find(name.casefold())
        end = _SENTENCE_END.search(text, start + len(name)) if start >= 0 else None
        rest = text[start + len(name) : end.start() if end else len(text)] if start >= 0 else ""
        for other, _ in phrases[:_WIDEN_FROM]:
            if words & {w.casefold() for w in other.split()} or len(other.split()) > 2:
                continue
            if other.casefold() not in rest:  # only what the same sentence says next
                continue
            joined = span(first_message, name, other)
            if joined is not None:
                return joined
            if len(other.split()) == 2 or _capitalised(other, first_message):
                return completed(name, [other], script, flat(first_message))
        return name

    def _keyphrase_name(
        self,
        user_text: str,
        first_message: str,
        assistant_text: str,
        language: str | None,
        asked: str | None,
    ) -> str:
        """A name from what the first message asks (``asked``), else from the keyphrases of the
        user's lines in the conversation's language: the best phrase of the first message,
        joined to a second one standing next to it ("Letter for a PhD Position"). A definition
        question about one term in English is "<Term> Explained". ``asked``
        wins unless it is only the first words of a longer statement and the keyphrases give
        two words or more that are not; a single word is completed by another phrase."""
        loud = shouting(user_text)  # capitals say nothing to keyphrases: keep the request's words
        if (
            asked is not None
            and len(asked.split()) > 2
            and (loud or not _cut_from(asked, first_message))
        ):
            return self._spelled(asked, user_text, assistant_text)  # no keyphrases needed
        own_lines = self._in_language(user_text, language)
        script = main_script(own_lines)
        phrases = self._phrases(self._in_language(first_message, language), language)
        all_phrases = self._phrases(own_lines, language) if not phrases else None
        phrases = phrases or all_phrases or []
        if not phrases:
            return ""
        best, best_score = best_phrase(phrases, script, flat(user_text))
        name = best
        for other, score in phrases:
            if other == best or score > best_score * _SECOND_MAX:
                continue
            joined = span(first_message, best, other)
            if joined is not None:
                name = joined
                break
        if asked is not None and len(asked.split()) == 1 and _DEFINITION.match(first_message):
            spelled = restore_case(asked, f"{user_text}\n{assistant_text}")
            return f"{spelled} {_EXPLAINED}"  # "What is argocd?"
        if asked is not None and (len(asked.split()) == 1 or not _cut_from(asked, first_message)):
            name = asked
        elif asked is not None and (len(name.split()) < 2 or _cut_from(name, first_message)):
            name = asked
        if len(name.split()) == 2:
            name = self._widened(name, phrases, first_message, script)
        if len(name.split()) == 1 and not _stands_alone(name, user_text):
            if all_phrases is None:
                all_phrases = self._phrases(own_lines, language)
            replies = self._phrases(self._in_language(assistant_text, language), language)
            others = [p for p, _ in phrases + all_phrases + replies]
            name = completed(name, others, script, flat(f"{user_text}\n{assistant_text}"))
        return self._spelled(name, user_text, assistant_text)

    @staticmethod
    def _spelled(name: str, user_text: str, assistant_text: str) -> str:
        """``name`` in lower case for a shouting user, else with the conversation's spellings."""
        if shouting(user_text):
            return name.lower()
        return restore_case(name, f"{user_text}\n{assistant_text}")
