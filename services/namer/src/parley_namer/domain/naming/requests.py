"""What a request is about: the words after its opening ("Can you write me a ...") and before
its next clause, in the sentence that asks something (role-play and preambles skipped)."""

from __future__ import annotations

import re

from .lexicon import (
    BOUNDARY_WORDS,
    FILLER_WORDS,
    GENERIC_ROLE_WORDS,
    LEAD_NOUNS_OF,
    LEAD_WORDS,
    PREAMBLES,
    RUSSIAN_IMPERATIVE,
    TRAILING_WORDS,
)
from .scripts import is_unspaced

MAX_TOPIC_WORDS = 8
"""Most words of a topic taken from a request."""

_SENTENCES = re.compile(
    r"(?<!\bvs\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<!\bMr\.)(?<!\bDr\.)(?<!\bSt\.)"
    r"(?<=[.!?？。])\s+|\n+|;\s+"
)
_INTERJECTIONS = re.compile(
    r"^(?:(?:ok|okay|now|so|well|alright|great|thanks|thank\s+you|hi|hello|hey)\b[,!.]?\s+)+",
    re.IGNORECASE,
)
_ASIDE = re.compile(r"\s*\([^()]{0,60}\)")  # "(using flask)", "(ML:BB)": an aside, not a topic
_LABEL = re.compile(r"^[\w ]{1,24}:\s+")  # "Title: ...", "Question 1: ..."
_PREPOSITIONS = frozenset("of in for on with to about from by at into over under".split())

_PREAMBLE = re.compile(rf"^(?:{PREAMBLES})", re.IGNORECASE)
_TASK_AFTER = re.compile(
    r"\b(?:and|then|to)\s+(?:then\s+)?(?=(?:write|create|give|provide|tell|explain|generate|make"
    r"|help|suggest|design|draft|compose|answer|list|describe|come|craft|build|implement|develop"
    r"|prepare|plan|produce|summarize|summarise|translate|analyze|analyse|review|rewrite)\b)",
    re.IGNORECASE,
)
_IMPERATIVE = re.compile(RUSSIAN_IMPERATIVE)
_NUMBERING = re.compile(  # 1.2.2 19.19 3) a) [1] (28)
    r"\(?\d+(?:\.\d+)*[.):]|\d+(?:\.\d+)+|\(?[A-Za-z][.)]|\[\d+\]|\(\d+\)"
)
_EDGE = re.compile(r"^[^\w#+.]+|[^\w#+)]+$")
_MAX_SENTENCES = 6
_ROLE = re.compile(
    r"^(?:i\s+(?:will|am\s+going\s+to|'m\s+going\s+to)\s+(?:give|provide|send|share)\s+you"
    r"(?:\s+with)?\s+(?:an?\s+|the\s+)?|"
    r"(?:i\s+want\s+you\s+to\s+|please\s+)?(?:act\s+(?:as|like)|pretend\s+to\s+be"
    r"|(?:(?:pretend|imagine)\s+(?:that\s+)?)?(?:you\s+are|you're|youre))\s+(?:an?\s+|the\s+)?)",
    re.IGNORECASE,
)
# "on the problem of", "the topic of": words that only announce what follows them
_WEAK_OF = re.compile(
    r"\b(?:the\s+)?(?:problem|topic|subject|issue|theme|matter)\s+of\s+", re.IGNORECASE
)
# "Your task is to find the shortest route ...": the sentence that states the task, wherever it
# stands after a story or a setting
_STATED_TASK = re.compile(
    r"(?:^|[.!?\n]\s*)(?:your|the)\s+(?:main\s+)?(?:task|job|goal|aim|objective|mission)"
    r"\s+(?:here\s+)?is\s+to\s+",
    re.IGNORECASE,
)
_FORMULA = re.compile(r"[=^∑∞|<>≤≥∫√∂]|\w\+\w")  # not "C++" nor "145+"
_ABBREVIATIONS = frozenset("vs e.g i.e etc mr mrs ms dr st no".split())
_QUOTES = "\"'“”‘’«»„"
_COPULAS = frozenset("is are was were".split())


def _bare(word: str) -> str:
    return _EDGE.sub("", word).casefold()


_SUBJECTS = frozenset(
    "i we i'm i've i'd my our im ive je j'ai nous yo tengo ich wir io eu я мы у".split()
)
_GREETINGS = frozenset("hi hello hey".split())
_ME = frozenset("me us myself ourselves".split())
_DETERMINERS = frozenset(
    "a an the my our some this these des un une le la les mon ma mes el una mi ein eine einen "
    "mein meine uno il um uma".split()
)


def _strip_lead(words: list[str]) -> list[str]:
    """``words`` after the opening of a request (lead words, "list of" ...); a sentence that
    starts with its subject ("I run a blog ...") starts after its first determiner."""
    i = 0
    if words and _bare(words[0]) in _SUBJECTS:
        i = _after_determiner(words, 1) or 0
    subject_first = i > 0
    while i < len(words) and not subject_first:  # after "I have a", a noun phrase starts
        bare = _bare(words[i])
        numbering = _NUMBERING.fullmatch(words[i]) is not None or (
            i == 0
            and words[i].isdigit()
            and i + 1 < len(words)
            and words[i + 1].lstrip("\"'“‘«(")[:1].isupper()
        )
        greeting = bare in _GREETINGS and i > 0  # "a Hello World program": a name, not a greeting
        lead = bare in LEAD_WORDS and not greeting
        if lead or not bare or numbering or (i == 0 and _IMPERATIVE.match(bare)):
            i += 1
        elif bare in LEAD_NOUNS_OF and i + 1 < len(words) and _bare(words[i + 1]) == "of":
            i += 2
        elif bare == "of" and i > 0:
            i += 1
        elif bare == "talk" and i + 1 < len(words) and _bare(words[i + 1]) == "about":
            i += 2
        else:
            break
    # "how can I receive some data ...": after a subject, a verb and its determiner go too.
    stripped = {_bare(w) for w in words[:i]}
    if not subject_first and stripped & (_SUBJECTS | {"you", "u"}) and i < len(words):
        # "how can I receive some data", "can u accept a struct": an unknown verb and its
        # determiner (right after it when the subject is "you") open the request too.
        i = _after_determiner(words, i + 1, within=1) or i
    return words[i:]


def _after_determiner(words: list[str], start: int, within: int = 5) -> int | None:
    """Index after the first determiner among ``within`` words from ``start``, or None."""
    for j, word in enumerate(words[start : start + within], start=start):
        if _bare(word) in _DETERMINERS:
            return j + 1
    return None


def _until_boundary(words: list[str], stopwords: frozenset[str]) -> list[str]:
    """The words before the next clause: a boundary word, a comma or sentence mark after a
    word, "and"/"or" before a request verb or a pronoun; at most :data:`MAX_TOPIC_WORDS`."""
    kept: list[str] = []
    for i, word in enumerate(words):
        bare = _bare(word)
        if bare in _COPULAS and len(kept) == 1:  # "which journal is similar to ..."
            continue
        relative = bare in {"that", "which", "who"} and len(kept) <= 2
        if kept and (bare in BOUNDARY_WORDS and not relative or word in {"-", "–", "—"}):
            break
        if kept and _FORMULA.search(word):  # "f(x)=(x+1)", "x2 + x": a formula ends a topic
            break
        if kept and bare in {"and", "or", "y", "et", "und", "e", "и"}:
            following = _bare(words[i + 1]) if i + 1 < len(words) else ""
            if following in LEAD_WORDS or following in BOUNDARY_WORDS or not following:
                break
        following = _bare(words[i + 1]) if i + 1 < len(words) else ""
        if kept and bare in {"for", "to"} and following in _ME:  # "dialogue for me as ..."
            break
        if kept and bare == "by" and following.endswith("ing"):  # "... by filling in what"
            break
        if "," in word.strip(","):  # "country,year,disease": a list written without spaces
            kept.append(word.split(",")[0])
            break
        kept.append(word)
        abbreviation = word.endswith(".") and bare.rstrip(".") in _ABBREVIATIONS
        if (
            re.search(r"[,;:!?)(\"]$|[.]$", word)
            and not abbreviation
            or len(kept) > MAX_TOPIC_WORDS
        ):
            break
    if len(kept) > MAX_TOPIC_WORDS:
        cuts = [j for j in range(4, MAX_TOPIC_WORDS + 1) if _bare(kept[j]) in _PREPOSITIONS]
        kept = kept[: cuts[-1]] if cuts else kept[:MAX_TOPIC_WORDS]
    return kept


def _trim_tail(words: list[str], stopwords: frozenset[str]) -> list[str]:
    """``words`` without function words (:data:`~.lexicon.TRAILING_WORDS`), request words,
    symbols, lone letters or an English participle ("dedicated") at their end."""
    while len(words) > 1 and _dangling(words):
        words = words[:-1]
    while words and (
        _bare(words[-1]) in TRAILING_WORDS
        or _bare(words[-1]) in FILLER_WORDS
        or not any(ch.isalnum() for ch in words[-1])
        or (
            len(_bare(words[-1])) == 1
            and words[-1].strip(_QUOTES).rstrip(",;:!?.").islower()  # "f x", not "C" or "R"
            and not any(is_unspaced(c) for c in words[-1])
        )
    ):
        words = words[:-1]
    return words


def _dangling(words: list[str]) -> bool:
    last = _bare(words[-1])
    return len(words) >= 2 and len(last) > 4 and last.endswith("ed") and not last.endswith("eed")


def topic(text: str, stopwords: frozenset[str]) -> str | None:
    """The topic of a request written with spaces between words, in its own words, or None.

    Sentences are read in order (at most 6); one that sets a role or announces material
    ("You are a ...", "Act as ...", "Ignore ...", "Here is ...", :data:`~.lexicon.PREAMBLES`)
    is skipped unless it goes on to a task within 8 words ("Act as a chef and write a menu"
    gives "menu"); a role of two words or more that is not generic names the conversation
    ("I want you to act as a linux terminal": "linux terminal"; "You are a helpful assistant"
    is skipped). Labels ("Title:"), numbering, asides in parentheses and words that only
    announce ("the topic of") are left out.

    In the first sentence left, the opening of the request is removed (:data:`~.lexicon.
    LEAD_WORDS`: "Can you please write me a"), then the words up to the next clause are kept
    (:data:`~.lexicon.BOUNDARY_WORDS`, punctuation, a formula; at most
    :data:`MAX_TOPIC_WORDS`, cut before a preposition where one stands late enough) without
    function words at their end. A topic that narrates ("moved into a new apartment") gives way
    to a sentence that states the task ("Your task is to ..."), wherever it stands. A one-word
    topic of a sentence of two words or fewer gives way to the next sentence's. Returns None
    when no sentence has a word that is not a stopword. Raises nothing.
    """
    found = _first_topic(text, stopwords)
    if found is not None and _narrates(found):
        return _stated_task(text, stopwords) or found
    return found


def _narrates(found: str) -> bool:
    """Whether a topic opens with an English past-tense verb ("moved into a new apartment"):
    an event of a story, not what is asked."""
    first = _bare(found.split()[0])
    return len(first) > 4 and first.endswith("ed") and not first.endswith("eed")


def _first_topic(text: str, stopwords: frozenset[str]) -> str | None:
    """The topic of the first sentence that has one (see :func:`topic`)."""
    single: str | None = None
    for sentence in _SENTENCES.split(text.strip())[:_MAX_SENTENCES]:
        sentence = _WEAK_OF.sub("", _LABEL.sub("", sentence.strip(), count=1))
        sentence = _INTERJECTIONS.sub("", _ASIDE.sub("", sentence))
        preamble = _PREAMBLE.match(sentence)
        if preamble is not None:
            task = _TASK_AFTER.search(sentence, preamble.end())
            if task is not None and len(sentence[preamble.end() : task.start()].split()) > 8:
                task = None  # a task asked far from the role belongs to another clause
            role = _ROLE.match(sentence)
            if task is None and role is not None:
                found = _phrase(sentence[role.end() :], stopwords)
                if found is not None and len(found.split()) >= 2 and not _generic_role(found):
                    return found  # "I want you to act as a linux terminal": the role
            if task is None:
                continue
            sentence = sentence[task.end() :]
        found = _phrase(sentence, stopwords)
        if found is not None:
            if len(found.split()) >= 2 or len(sentence.split()) > 2:
                return found
            single = single or found  # "Hello Professor." names less than the next sentence
    return single


def _stated_task(text: str, stopwords: frozenset[str]) -> str | None:
    """The topic of a sentence that states the task ("Your task is to find the shortest route
    ...": "shortest route ..."), anywhere in ``text``; None when there is none or it names
    fewer than two words."""
    match = _STATED_TASK.search(text)
    if match is None:
        return None
    end = _SENTENCE_END_MARK.search(text, match.end())
    found = _phrase(text[match.end() : end.start() if end else len(text)], stopwords)
    return found if found is not None and len(found.split()) >= 2 else None


_SENTENCE_END_MARK = re.compile(r"[.!?？。]\s|\n")


def _generic_role(role: str) -> bool:
    """A role that says nothing of the conversation ("helpful assistant", "professional
    writer"): every word of it is one of :data:`~.lexicon.GENERIC_ROLE_WORDS`."""
    return all(_bare(w) in GENERIC_ROLE_WORDS for w in role.split())


def _phrase(sentence: str, stopwords: frozenset[str]) -> str | None:
    """The topic words of one sentence, or None when none is a content word; a preposition
    left at its start goes ("on the Unity testing framework" is about the framework)."""
    words = _trim_tail(_until_boundary(_strip_lead(sentence.split()), stopwords), stopwords)
    while len(words) > 2 and _bare(words[0]) in _PREPOSITIONS | {"the", "a", "an"}:
        words = words[1:]
    if any(_bare(w) not in stopwords and any(ch.isalpha() for ch in w) for w in words):
        return " ".join(w.strip(_QUOTES).rstrip(',;:!?."') for w in words)
    return None
