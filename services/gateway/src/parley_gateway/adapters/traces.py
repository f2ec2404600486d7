"""LLM traces asked of the tagger, their owner, over NATS request/reply."""

from __future__ import annotations

from faststream.nats import NatsBroker
from nats.errors import NoRespondersError
from parley_contracts import Subjects, TracePage, TraceQuery

from ..domain.ports import OwnerUnavailable


class NatsTraceSource:
    """Asks ``<prefix>.query.tagger.traces``, waiting at most ``timeout_s`` seconds."""

    def __init__(self, broker: NatsBroker, subjects: Subjects, timeout_s: float) -> None:
        self._broker = broker
        self._subject = subjects.query("tagger", "traces")
        self._timeout_s = timeout_s

    async def page(self, query: TraceQuery) -> TracePage:
        """One page of the tagger's answer.

        Raises:
            OwnerUnavailable: no tagger answered within the timeout.
        """
        try:
            answer = await self._broker.request(
                query.model_dump(mode="json"), self._subject, timeout=self._timeout_s
            )
        except (TimeoutError, NoRespondersError) as exc:
            raise OwnerUnavailable("the tagger did not answer; try again shortly") from exc
        return TracePage.model_validate_json(answer.body)
