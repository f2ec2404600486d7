"""The offline namer: a title from the first exchanges, made of the conversation's own words.

Sources:
    YAKE keyphrases: R. Campos, V. Mangaravite, A. Pasquali, A. Jorge, C. Nunes, A. Jatowt
    (2020), "YAKE! Keyword extraction from single documents using multiple local features",
    Information Sciences 509, 257-289 (reached through :class:`~.ports.KeyphraseExtractor`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..names import GENERIC_WORDS, Turn, clean_name, prepare_turns
from .casing import capitalise, restore_case, shouting
from .judging import conversation_language
from .phrases import Scored, best_phrase, completed, filter_phrases, span
from .ports import KeyphraseExtractor, LanguageDetector, WordSegmenter
from .prose import flat, has_prose, prose, url_name
from .requests import topic
from .scripts import UNSPACED_LANGUAGES, UNSPACED_SCRIPTS, letters, main_script
from .unspaced import first_clause

_LINE_LANGUAGE_MIN_CONFIDENCE = 0.05
_SECOND_MAX = 3.0


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
        if language in UNSPACED_LANGUAGES or script in UNSPACED_SCRIPTS:
            name = first_clause(
                user_contents,
                script,
                language,
                self.segmenter,
                lambda clause: clean_name(clause) is not None,
            )
        else:
            first = prose(user_contents[0])
            asked = None
            if has_prose(user_contents[0]):
                asked = topic(first, self.keyphrases.stopwords(language))
            name = self._keyphrase_name(user_text, first, assistant_text, language, asked)
        cleaned = clean_name(name) or clean_name(url_name(user_contents[0]))
        if cleaned is None:
            return None, language
        return capitalise(cleaned, language), language

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

    def _keyphrase_name(
        self,
        user_text: str,
        first_message: str,
        assistant_text: str,
        language: str | None,
        asked: str | None,
    ) -> str:
        """A name from what the first message asks (``asked``, when it has two words or more),
        else from the keyphrases of the user's lines in the conversation's language."""
        own_lines = self._in_language(user_text, language)
        script = main_script(own_lines)
        phrases = self._phrases(self._in_language(first_message, language), language)
        all_phrases = self._phrases(own_lines, language) if not phrases else None
        phrases = phrases or all_phrases or []
        if not phrases:
            return ""
        best, best_score = best_phrase(phrases, script, flat(user_text))
        name = best
        if asked is not None and len(asked.split()) >= 2:
            phrases = []
            name = asked
        elif asked is not None:
            name = asked
        for other, score in phrases:
            if other == best or score > best_score * _SECOND_MAX:
                continue
            joined = span(first_message, best, other)
            if joined is not None:
                name = joined
                break
        if len(name.split()) == 1:
            if all_phrases is None:
                all_phrases = self._phrases(own_lines, language)
            replies = self._phrases(self._in_language(assistant_text, language), language)
            others = [p for p, _ in phrases + all_phrases + replies]
            name = completed(name, others, script, flat(f"{user_text}\n{assistant_text}"))
        if shouting(user_text):
            return name.lower()
        return restore_case(name, f"{user_text}\n{assistant_text}")
