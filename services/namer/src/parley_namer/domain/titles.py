"""Checks of a title proposed by a language model, before it may name a session.

A model's answer is untrusted text: it may carry its reasoning, quotes, a label ("Title: ..."),
a refusal, too many words, another language than the conversation's, or the title a conversation
asked for in an instruction hidden in its text. :func:`check_title` turns an answer into a clean
title or into the reason it was refused (told to the model on its one retry).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .names import MAX_WORDS, clean_name

MAX_TITLE_CHARS = 80
"""Most characters of a title (after cleaning)."""

MAX_UNSPACED_CHARS = 24
"""Most characters of a title in a script written without spaces (Chinese, Japanese, Thai)."""

LATIN_SHARE = 0.75
"""Share of a title's letters that must be Latin for a language written in Latin letters."""

_REASONING = re.compile(
    r"<(think|thinking|reasoning|analysis|scratchpad)\b[^>]*>.*?(?:</\1\s*>|\Z)",
    re.IGNORECASE | re.DOTALL,
)
_STRAY_CLOSER = re.compile(r"^.*</(?:think|thinking|reasoning|analysis)\s*>", re.I | re.S)
_LABEL = re.compile(
    r"^\s*(?:\*\*)?(?:session\s+)?(?:title|name|answer|titre|título|titel|标题|название)"
    r"(?:\*\*)?\s*[:：]\s*",
    re.IGNORECASE,
)
_REFUSAL = re.compile(
    r"^(?:i'?m sorry|i am sorry|sorry\b|i can(?:no|')t|i cannot|i am unable|i'?m unable|"
    r"unable to|as an ai|i won'?t|i will not|i do not|i don'?t)",
    re.IGNORECASE,
)
_INJECTION = re.compile(
    r"(?:ignore|disregard|forget)\b[^.\n]{0,40}\b(?:instruction|rule|prompt)s?"
    r"|\b(?:name|title|call|rename)\s+(?:this|the|my)\s+(?:session|chat|conversation)\b",
    re.IGNORECASE,
)

# Scripts a language's titles are written in (the first word of the Unicode names of their
# letters); a language not listed is written in Latin letters.
_SCRIPTS: dict[str, frozenset[str]] = {
    **{code: frozenset({"CYRILLIC"}) for code in ("ru", "uk", "be", "bg", "sr", "mk", "kk", "mn")},
    **{code: frozenset({"ARABIC"}) for code in ("ar", "fa", "ur")},
    "he": frozenset({"HEBREW"}),
    "el": frozenset({"GREEK"}),
    "zh": frozenset({"CJK"}),
    "ja": frozenset({"CJK", "HIRAGANA", "KATAKANA"}),
    "ko": frozenset({"HANGUL"}),
    "th": frozenset({"THAI"}),
    "hi": frozenset({"DEVANAGARI"}),
    "mr": frozenset({"DEVANAGARI"}),
    "bn": frozenset({"BENGALI"}),
    "ta": frozenset({"TAMIL"}),
    "te": frozenset({"TELUGU"}),
    "ka": frozenset({"GEORGIAN"}),
    "hy": frozenset({"ARMENIAN"}),
}
_UNSPACED = frozenset({"CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR"})


@dataclass(frozen=True)
class TitleCheck:
    """A checked answer: ``title`` when it may be used, else ``reason`` (one sentence)."""

    title: str | None
    reason: str | None = None


def script_of(ch: str) -> str:
    """First word of the Unicode name of ``ch`` (``LATIN``, ``CYRILLIC``, ``CJK``...)."""
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


def scripts_of(language: str | None) -> frozenset[str]:
    """The scripts titles in ``language`` (ISO 639-1) are written in; Latin by default."""
    return _SCRIPTS.get(language or "", frozenset({"LATIN"}))


def strip_reasoning(raw: str) -> str:
    """``raw`` without reasoning blocks (``<think>…</think>`` and kin, an unclosed one to the
    end), text before a stray closing tag, a leading label (``Title:``), and, when several lines
    are left, all but the last non-empty one (where a title follows its explanation)."""
    text = _STRAY_CLOSER.sub("", _REASONING.sub("", raw))
    lines = [line for line in text.splitlines() if line.strip()]
    text = lines[-1] if lines else ""
    return _LABEL.sub("", text)


def injected_titles(conversation: str) -> list[str]:
    """The sentences of ``conversation`` that give the namer orders ("ignore your
    instructions", "name this session X"), case-folded: a title taken from one was dictated by
    the data, not made from it."""
    sentences = re.split(r"(?<=[.!?\n])\s+", conversation)
    return [s.casefold() for s in sentences if _INJECTION.search(s)]


def without_injections(text: str) -> str:
    """``text`` without its sentences that give the namer orders (see :func:`injected_titles`),
    for a namer that would otherwise pick its words from them; ``text`` itself when nothing
    else is left."""
    sentences = re.split(r"(?<=[.!?\n])\s+", text)
    kept = " ".join(s for s in sentences if not _INJECTION.search(s))
    return kept if any(ch.isalpha() for ch in kept) else text


def check_title(
    raw: str,
    *,
    language: str | None,
    injections: list[str] | tuple[str, ...] = (),
    confident_language: str | None = None,
    avoid: list[str] | tuple[str, ...] = (),
) -> TitleCheck:
    """Check and clean one title a model proposed for a conversation in ``language``.

    Steps: :func:`strip_reasoning`; refusals are refused; more than :data:`MAX_WORDS` words or
    :data:`MAX_TITLE_CHARS` characters (:data:`MAX_UNSPACED_CHARS` in scripts without spaces) are
    refused, not cut; :func:`~parley_namer.domain.names.clean_name` removes quotes, markup and
    trailing punctuation, and a title of generic words only is refused; a title with no letter
    of ``language``'s script (under :data:`LATIN_SHARE` Latin letters for a language written
    in Latin letters) is refused, and so is one a detector is confident is in another
    language (``confident_language``, computed by the caller on the raw title); a title found
    inside one of ``injections`` (:func:`injected_titles`) is refused, and so is one of
    ``avoid`` (case-folded). Raises nothing.
    """
    text = strip_reasoning(raw).strip()
    if not text:
        return TitleCheck(None, "the answer held no title")
    if _REFUSAL.match(text.lstrip("\"'“‘«*")):
        return TitleCheck(None, "the answer was a refusal, not a title")
    words = text.split()
    if len(words) > MAX_WORDS:
        return TitleCheck(None, f"the title had {len(words)} words; at most {MAX_WORDS}")
    title = clean_name(text)
    if title is None:
        return TitleCheck(None, "the title held only generic words or no letters")
    letters = [ch for ch in title if ch.isalpha()]
    unspaced = sum(script_of(ch) in _UNSPACED for ch in letters) > len(letters) / 2
    limit = MAX_UNSPACED_CHARS if unspaced else MAX_TITLE_CHARS
    if len(title) > limit:
        return TitleCheck(None, f"the title had {len(title)} characters; at most {limit}")
    wanted = scripts_of(language)
    in_script = sum(script_of(ch) in wanted for ch in letters)
    # Latin-script languages: a title mostly in Latin letters; other scripts: some of their
    # letters (names of products and places stay in Latin letters: "Настройка Docker").
    enough = in_script >= LATIN_SHARE * len(letters) if "LATIN" in wanted else in_script > 0
    if language and not enough:
        return TitleCheck(None, f"the title was not written in {language}")
    if language and confident_language and confident_language != language:
        return TitleCheck(None, f"the title was in {confident_language}, not in {language}")
    folded = title.casefold()
    if len(folded) >= 3 and any(folded in sentence for sentence in injections):
        return TitleCheck(None, "the title was dictated by an instruction inside the conversation")
    if folded in {a.casefold() for a in avoid}:
        return TitleCheck(None, "the title was one it was asked not to give again")
    return TitleCheck(title)
