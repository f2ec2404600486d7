"""The offline namer behind the async port: the synchronous :class:`Namer` run in a worker
thread, and distinct suggestions made from several views of the conversation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from ..domain.names import Turn, prepare_turns
from ..domain.policy import OFFLINE, Namer, Proposal


def _views(turns: list[Turn]) -> list[list[Turn]]:
    """Parts of a conversation that may each be named differently: all of it, the user's
    turns, each user turn alone, the first exchange, the replies read as the topic."""
    users = [t for t in turns if t.role == "user"]
    replies = [Turn("user", t.content) for t in turns if t.role == "assistant"]
    views = [turns, users, *[[t] for t in users], turns[:2], replies]
    return [v for v in views if v]


class OfflineNamer:
    """:class:`~parley_namer.domain.policy.AsyncNamer` over a synchronous namer (CPU-bound,
    run with :func:`asyncio.to_thread`). Raises nothing."""

    def __init__(self, namer: Namer) -> None:
        self.namer = namer

    def _propose(self, turns: Sequence[Turn], count: int) -> tuple[list[str], str | None]:
        kept = prepare_turns(turns)
        titles: list[str] = []
        language: str | None = None
        for i, view in enumerate(_views(kept)):
            try:
                name, lang = self.namer.propose_with_language(view)
            except Exception:  # one view the namer cannot read: try the next
                continue
            if i == 0:
                language = lang
            if name and name.casefold() not in {t.casefold() for t in titles}:
                titles.append(name)
            if len(titles) >= count or (count == 1 and i == 0):
                break
        return titles[:count], language

    async def propose(self, turns: Sequence[Turn], *, count: int = 1) -> Proposal:
        """Up to ``count`` distinct titles, best (the whole conversation's) first."""
        started = time.perf_counter()
        titles, language = await asyncio.to_thread(self._propose, turns, count)
        return Proposal(
            titles=tuple(titles),
            language=language,
            namer=OFFLINE,
            latency_ms=int((time.perf_counter() - started) * 1000),
        )
