"""The prose of a message: code, links and markup set aside before a name is looked for."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from .scripts import UNSPACED_SCRIPTS, script

URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_FENCED_CODE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
# Markup written inline: a tag with attributes and the tags and short texts after it
# ("<div class="title">Locked</div>"), and style blocks ("{ filter: blur(6px); }"); a tag
# named alone ("center a <div>", "<b>bold</b>") stays words
_TAG = r"</?[a-z][\w:-]*(?:\s[^<>]*)?/?>"
_MARKUP = re.compile(
    rf"<[a-z][\w:-]*\s[^<>]*=[^<>]*>(?:[^<>]{{0,80}}{_TAG})*"
    r"|[.#]?[\w-]*\s*\{[^{}]*:[^{}]*\}"
)
_CODE_CHARS = re.compile(r"[{}\[\]()<>=;$\\|&^~@*/]")
_WORD_LIKE = re.compile(r"[(\"'«“]?[^\W\d_][\w'’.+#-]*[.,:;!?)\"'»”]*")
_PROSE_SHARE = 0.6
# A line of code: it opens with a keyword of a programming language or ends a block.
_CODE_LINE = re.compile(
    r"^\s*(?:def|class|return|import|from\s+\S+\s+import|const|let|var|elif|else:|public|private"
    r"|protected|function|func|fn|print\(|#include|package|using\s+\S+;|while|for\s*\("
    r"|if\s*\(|try:|except\b|catch\b|switch\b|#!|sudo\b|pip\b|npm\b)\b|[{};]\s*$"
    r"|^\s*[\w.\[\]'\"]+\s*[-+*/]?=\s*\S"  # an assignment: x = 1, self.a += b
    r"|^\s*\S+@[\w.-]+:\S*[$#]\s"  # a shell prompt: user@host:~/dir$ command
)
_COMMENT = re.compile(r"^\s*(?:#+|//+|--|;+|\*+|/\*+)\s*")  # a comment's text is prose


def _prose_lines(text: str) -> list[str]:
    kept = []
    for line in text.splitlines():
        if _CODE_LINE.search(line):
            continue
        line = _COMMENT.sub("", line, count=1)
        tokens = line.split()
        if tokens and sum(word_like(t) for t in tokens) >= _PROSE_SHARE * len(tokens):
            line = _CODE_CHARS.sub(" ", line).rstrip()
            kept.append(line if ends_sentence(line) else f"{line}.")
    return kept


def has_prose(text: str) -> bool:
    """Whether ``text`` holds a line of prose outside fenced code (not a message of code only)."""
    lines = _prose_lines(URL.sub(" ", _FENCED_CODE.sub("\n", text)))
    return any(ch.isalpha() for line in lines for ch in line)


def prose(text: str) -> str:
    """The text without fenced code, code-like lines, URLs and code symbols.

    A line is kept when it is not code (it does not open with a keyword such as ``def`` or
    ``return``, an assignment or a shell prompt, nor end with ``{``, ``}`` or ``;``; a
    comment's text counts as prose) and at least 60 % of its tokens are words
    (or runs of a script without spaces), and ends a sentence so that no keyphrase spans two
    lines. When no line is kept (a message of code only), the whole text is used, code
    symbols removed. Raises nothing.
    """
    text = URL.sub(" ", _FENCED_CODE.sub("\n", text)).replace("\u2019", "'")
    text = _MARKUP.sub(" ", text)
    kept_text = "\n".join(_prose_lines(text))
    return kept_text if any(ch.isalpha() for ch in kept_text) else _CODE_CHARS.sub(" ", text)


def word_like(token: str) -> bool:
    """A word with optional punctuation, or a run of text in a script without spaces."""
    if _WORD_LIKE.fullmatch(token):
        return True
    return sum(script(ch) in UNSPACED_SCRIPTS for ch in token if ch.isalpha()) >= 2


def ends_sentence(line: str) -> bool:
    """Whether ``line`` is empty or ends with punctuation."""
    return not line or unicodedata.category(line[-1])[0] == "P"


def flat(text: str) -> str:
    """Case-folded text on one line, single-spaced, for finding phrases in it."""
    return " ".join(text.casefold().split())


def position(text: str, phrase: str) -> int:
    """Index of ``phrase`` (case-folded) in ``text`` (already flat), or ``len(text)``."""
    at = text.find(phrase.casefold())
    return at if at >= 0 else len(text)


_URL_NOISE = frozenset("www com org net html htm php asp aspx jsp do index http https".split())


def url_name(text: str) -> str:
    """Words of the first link in ``text`` (site and path, no ids or extensions), for a message
    that is nothing but a link: ``https://projudi2.tjpr.jus.br/projudi/mediaplayer.do`` gives
    ``projudi mediaplayer``. Empty when there is no link. Raises nothing."""
    match = URL.search(text)
    if match is None:
        return ""
    url = match.group(0)
    try:
        parsed = urlsplit(url if "://" in url else f"http://{url}")
        host = parsed.hostname or ""
    except ValueError:
        return ""
    labels = [label for label in host.split(".")[:-1] if len(label) > 3]
    words: list[str] = []
    for token in re.split(r"[^A-Za-z0-9]+", " ".join(labels[:1]) + " " + parsed.path):
        word = token.rstrip("0123456789").lower()
        if len(word) > 2 and word.isalpha() and word not in _URL_NOISE and word not in words:
            words.append(word)
    return " ".join(words[:4])
