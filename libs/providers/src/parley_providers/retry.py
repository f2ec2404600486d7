"""Retrying a provider call: ``Retry-After`` honoured, else exponential backoff with full jitter,
never past a deadline.

Backoff follows the "full jitter" scheme (a uniform delay in ``[0, min(cap, base * 2**attempt)]``,
as described in the AWS Architecture Blog post "Exponential Backoff And Jitter", 2015).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from .base import ProviderError

T = TypeVar("T")


@dataclass
class RetryPolicy:
    """When to try a failed call again.

    ``deadline_s``: seconds from the first try after which no try starts (a wait that would end
    past it is not taken); ``base_s``/``cap_s``: the backoff scale and ceiling in seconds;
    ``max_attempts``: tries in all, the first included.
    """

    deadline_s: float = 60.0
    base_s: float = 0.5
    cap_s: float = 8.0
    max_attempts: int = 8
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, error: Exception) -> float:
        """Seconds to wait before try ``attempt + 1`` (``attempt`` counts from 1): the error's
        ``retry_after_s`` when it has one, else the jittered backoff."""
        retry_after = getattr(error, "retry_after_s", None)
        if retry_after is not None:
            return float(retry_after)
        return self.rng.uniform(0, min(self.cap_s, self.base_s * 2 ** (attempt - 1)))


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[int, Exception, float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    retry_on: type[Exception] = ProviderError,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``call`` until it succeeds, raises something other than a ``retry_on`` error whose
    ``retryable`` is true, the tries are used up or the next wait would end past the deadline;
    then the last error is raised.

    ``on_retry(attempt, error, delay_s)`` is told of each retry before its wait; ``clock`` and
    ``sleep`` (seconds) are the time sources.
    """
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call()
        except retry_on as error:
            if not getattr(error, "retryable", False) or attempt >= policy.max_attempts:
                raise
            delay = policy.delay(attempt, error)
            if clock() + delay - started > policy.deadline_s:
                raise
            if on_retry is not None:
                on_retry(attempt, error, delay)
            await sleep(delay)
