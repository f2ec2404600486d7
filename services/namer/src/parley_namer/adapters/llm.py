"""The LLM namer: one structured-output call to the catalogue's naming model through
:mod:`parley_providers`, every answer checked, one retry with the reason, then the offline namer.

Flow of :meth:`LlmNamer.propose`:

1. the conversation's language is detected here (user turns; short ones read with the replies)
   and named in the prompt, never left to the model;
2. :func:`~parley_namer.domain.prompt.build_prompt` passes the first 6 messages as quoted data;
3. the call is retried by :func:`parley_providers.generate_structured` on 429 (``Retry-After``
   honoured), 5xx and timeouts, within ``deadline_s``;
4. each title goes through :func:`~parley_namer.domain.titles.check_title`; a refused answer is
   asked again once, with the reason; a second refusal, a failed call or the attempt's
   ``timeout_s`` falls back to the offline namer, the reason kept in the proposal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import structlog
from parley_providers import (
    ErrorKind,
    ModelSpec,
    ProviderError,
    RetryPolicy,
    StructuredAnswer,
    build_provider,
    generate_structured,
)

from ..domain.names import Turn, prepare_turns
from ..domain.policy import AsyncNamer, LanguageDetector, Proposal
from ..domain.prompt import TITLE_SCHEMA, build_prompt, titles_schema
from ..domain.titles import check_title, injected_titles

log = structlog.get_logger(__name__)

#: Letters of user text under which the replies are read too to tell the language.
SHORT_USER_TEXT = 120


def conversation_language(turns: Sequence[Turn], detector: LanguageDetector) -> str | None:
    """The language of the user's turns (with the replies when the user wrote little)."""
    user = "\n".join(t.content for t in turns if t.role == "user")
    if sum(ch.isalpha() for ch in user) < SHORT_USER_TEXT:
        user = "\n".join([user, *(t.content for t in turns if t.role == "assistant")])
    return detector.detect(user)


class LlmNamer:
    """:class:`~parley_namer.domain.policy.AsyncNamer` asking ``spec``'s model.

    ``fallback``: the offline namer; ``detector``: language detection (with ``name_of`` giving
    a language's English name); ``timeout_s``: the whole attempt, retries included, seconds;
    ``deadline_s``: how long 429/5xx retries of one call may go on, seconds; ``max_tries``:
    tries per call, the first included. At most ``spec.max_concurrency`` calls are in flight at
    once. Raises nothing from :meth:`propose`.
    """

    def __init__(
        self,
        spec: ModelSpec,
        fallback: AsyncNamer,
        detector: LanguageDetector,
        *,
        timeout_s: float = 20.0,
        deadline_s: float = 10.0,
        max_tries: int = 3,
        retry_base_s: float = 0.5,
    ) -> None:
        self.spec = spec
        self.label = f"llm:{spec.name}"
        self.fallback = fallback
        self.detector = detector
        self.timeout_s = timeout_s
        self.policy = RetryPolicy(
            deadline_s=deadline_s, max_attempts=max_tries, base_s=retry_base_s
        )
        self._provider = build_provider(spec)
        self._slots = asyncio.Semaphore(spec.max_concurrency)

    async def propose(
        self, turns: Sequence[Turn], *, count: int = 1, avoid: Sequence[str] = ()
    ) -> Proposal:
        """Up to ``count`` distinct titles from the model, checked, none of ``avoid``; else the
        offline namer's."""
        started = time.perf_counter()
        kept = prepare_turns(turns)
        if not any(t.role == "user" and t.content.strip() for t in kept):
            return Proposal((), None, self.label)
        language = await asyncio.to_thread(conversation_language, kept, self.detector)
        usage = _Usage()
        try:
            titles, reason = await asyncio.wait_for(
                self._ask(kept, language, count, usage, tuple(avoid)), timeout=self.timeout_s
            )
        except TimeoutError:
            titles, reason = [], f"no answer within {self.timeout_s:g} s"
        if len(titles) >= count:
            return usage.proposal(tuple(titles), language, self.label, started)
        log.info("naming model answer not used", model=self.spec.name, reason=reason)
        offline = await self.fallback.propose(kept, count=count, avoid=avoid)
        merged = list(titles)
        for title in offline.titles:
            if len(merged) < count and title.casefold() not in {m.casefold() for m in merged}:
                merged.append(title)
        namer = self.label if titles else offline.namer
        return usage.proposal(
            tuple(merged), language or offline.language, namer, started, reason or "no title"
        )

    async def _ask(
        self,
        turns: list[Turn],
        language: str | None,
        count: int,
        usage: _Usage,
        avoid: tuple[str, ...] = (),
    ) -> tuple[list[str], str | None]:
        """At most two answers (the second told why the first was refused): the distinct titles
        that passed, and why the last answer fell short (None when it did not)."""
        conversation = "\n".join(t.content for t in turns if t.role == "user")
        injections = injected_titles(conversation)
        schema = TITLE_SCHEMA if count == 1 else titles_schema(count)
        reason: str | None = None
        kept: list[str] = []
        for _ in range(2):
            system, user = build_prompt(
                turns,
                language=language,
                language_name=self.detector.name_of(language),
                count=count,
                rejected=reason,
                avoid=avoid,
            )
            try:
                async with self._slots:  # the model's max_concurrency calls in flight
                    answer = await generate_structured(
                        self.spec,
                        system,
                        user,
                        schema,
                        schema_name="session_title" if count == 1 else "session_titles",
                        policy=self.policy,
                        provider=self._provider,
                    )
            except ProviderError as exc:
                usage.calls += 1
                if exc.kind is ErrorKind.BAD_ANSWER:
                    reason = "the answer was not the JSON object of the schema"
                    continue
                return kept, f"the model call failed ({exc.kind.value}): {str(exc)[:200]}"
            usage.calls += 1
            usage.add(answer)
            raws = _raw_titles(answer.value, count)
            reason = None
            for raw in raws:
                confident = (
                    await asyncio.to_thread(self.detector.contradicts, raw, language)
                    if language
                    else None
                )
                checked = check_title(
                    raw,
                    language=language,
                    injections=injections,
                    confident_language=confident,
                    avoid=avoid,
                )
                if checked.title is None:
                    reason = reason or checked.reason
                elif checked.title.casefold() not in {k.casefold() for k in kept}:
                    kept.append(checked.title)
            if not raws:
                reason = "the answer did not match the schema"
            elif len(kept) < count and reason is None:
                reason = f"the titles were not {count} distinct ones"
            if len(kept) >= count:
                return kept[:count], None
        return kept, reason


def _raw_titles(value: dict[str, Any], count: int) -> list[str]:
    """The title strings of an answer (``title``, or the ``titles`` list)."""
    if count == 1:
        title = value.get("title")
        return [title] if isinstance(title, str) else []
    titles = value.get("titles")
    if not isinstance(titles, list):
        return []
    return [t for t in titles if isinstance(t, str)][: count + 2]


class _Usage:
    """Tokens and calls summed over one attempt."""

    def __init__(self) -> None:
        self.calls = 0
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None

    def add(self, answer: StructuredAnswer) -> None:
        if answer.usage.input_tokens is not None:
            self.input_tokens = (self.input_tokens or 0) + answer.usage.input_tokens
        if answer.usage.output_tokens is not None:
            self.output_tokens = (self.output_tokens or 0) + answer.usage.output_tokens

    def proposal(
        self,
        titles: tuple[str, ...],
        language: str | None,
        namer: str,
        started: float,
        fallback_reason: str | None = None,
    ) -> Proposal:
        return Proposal(
            titles=titles,
            language=language,
            namer=namer,
            latency_ms=int((time.perf_counter() - started) * 1000),
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            model_calls=self.calls,
            fallback_reason=fallback_reason,
        )
