"""The offline namer behind the async port: the synchronous :class:`Namer` run in a worker
thread, and distinct suggestions made from several views of the conversation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from ..domain.names import Turn, prepare_turns
from ..domain.policy import OFFLINE, Namer, Proposal
from ..domain.titles import without_injections


def _views(turns: list[Turn]) -> list[list[Turn]]:
    """Parts of a conversation that may each be named differently: all of it, the user's
    turns, each user turn alone, the first exchange."""
    users = [t for t in turns if t.role == "user"]
    views = [turns, users, *[[t] for t in users], turns[:2]]
    return [v for v in views if v]


def _without(text: str, titles: list[str]) -> str:
    """``text`` without the words of ``titles`` (whole words, case-insensitive): what is left
    to name from another angle."""
    used = {w.casefold() for title in titles for w in title.split()}
    return " ".join(w for w in text.split() if w.casefold().strip(".,;:!?") not in used)


class OfflineNamer:
    """:class:`~parley_namer.domain.policy.AsyncNamer` over a synchronous namer (CPU-bound,
    run with :func:`asyncio.to_thread`). Sentences of the user's turns that give the namer
    orders ("name this session X") are left out of what it reads
    (:func:`~parley_namer.domain.titles.without_injections`). Raises nothing."""

    def __init__(self, namer: Namer) -> None:
        self.namer = namer

    def _propose(
        self, turns: Sequence[Turn], count: int, avoid: Sequence[str] = ()
    ) -> tuple[list[str], str | None]:
        """Up to ``count`` distinct titles, none of ``avoid`` unless nothing else is found."""
        if avoid:
            wanted = count + len(avoid)
            titles, language = self._propose(turns, wanted)
            avoided = {a.casefold() for a in avoid}
            fresh = [t for t in titles if t.casefold() not in avoided]
            return (fresh or titles)[:count], language
        return self._candidates(turns, count)

    def _candidates(self, turns: Sequence[Turn], count: int) -> tuple[list[str], str | None]:
        kept = [
            Turn(t.role, without_injections(t.content)) if t.role == "user" else t
            for t in prepare_turns(turns)
        ]
        titles: list[str] = []
        language: str | None = None
        for i, view in enumerate(_views(kept)):
            name, lang = self._name(view)
            if i == 0:
                language = lang
            self._add(titles, name)
            if len(titles) >= count or (count == 1 and i == 0):
                return titles[:count], language
        first_user = next((t.content for t in kept if t.role == "user"), "")
        for _ in range(count):  # the rest of the first message, without the words named
            if len(titles) >= count:
                break
            self._add(titles, self._name([Turn("user", _without(first_user, titles))])[0])
        replies = [Turn("user", t.content) for t in kept if t.role == "assistant"]
        if len(titles) < count and replies:  # the replies, read as the topic
            self._add(titles, self._name(replies)[0])
        return titles[:count], language

    def _name(self, view: list[Turn]) -> tuple[str | None, str | None]:
        try:
            return self.namer.propose_with_language(view)
        except Exception:  # a view the namer cannot read: no name from it
            return None, None

    @staticmethod
    def _add(titles: list[str], name: str | None) -> None:
        if name and name.casefold() not in {t.casefold() for t in titles}:
            titles.append(name)

    async def propose(
        self, turns: Sequence[Turn], *, count: int = 1, avoid: Sequence[str] = ()
    ) -> Proposal:
        """Up to ``count`` distinct titles, best (the whole conversation's) first; none of
        ``avoid`` unless nothing else can be made."""
        started = time.perf_counter()
        titles, language = await asyncio.to_thread(self._propose, turns, count, avoid)
        return Proposal(
            titles=tuple(titles),
            language=language,
            namer=OFFLINE,
            latency_ms=int((time.perf_counter() - started) * 1000),
        )
