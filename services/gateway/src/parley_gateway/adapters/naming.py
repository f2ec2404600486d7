"""Names and naming analytics asked of the namer, their owner, over NATS request/reply."""

from __future__ import annotations

from typing import Any

from faststream.nats import NatsBroker
from nats.errors import NoRespondersError
from parley_contracts import (
    NamingAnalytics,
    NamingAnalyticsQuery,
    NamingAnswer,
    NamingRequest,
    Subjects,
)

from ..domain.ports import OwnerUnavailable


class NatsNamingSource:
    """Asks ``<prefix>.query.namer.names`` (waiting at most ``naming_timeout_s`` seconds: a
    model may be naming) and ``<prefix>.query.namer.analytics`` (``timeout_s``)."""

    def __init__(
        self, broker: NatsBroker, subjects: Subjects, timeout_s: float, naming_timeout_s: float
    ) -> None:
        self._broker = broker
        self._names = subjects.query("namer", "names")
        self._analytics = subjects.query("namer", "analytics")
        self._timeout_s = timeout_s
        self._naming_timeout_s = naming_timeout_s

    async def _ask(self, body: dict[str, Any], subject: str, timeout_s: float) -> bytes:
        try:
            answer = await self._broker.request(body, subject, timeout=timeout_s)
        except (TimeoutError, NoRespondersError) as exc:
            raise OwnerUnavailable("the namer did not answer; try again shortly") from exc
        return answer.body

    async def names(self, request: NamingRequest) -> NamingAnswer:
        """The namer's titles.

        Raises:
            OwnerUnavailable: no namer answered within the timeout.
        """
        body = await self._ask(request.model_dump(mode="json"), self._names, self._naming_timeout_s)
        return NamingAnswer.model_validate_json(body)

    async def analytics(self, query: NamingAnalyticsQuery) -> NamingAnalytics:
        """The namer's figures.

        Raises:
            OwnerUnavailable: no namer answered within the timeout.
        """
        body = await self._ask(query.model_dump(mode="json"), self._analytics, self._timeout_s)
        return NamingAnalytics.model_validate_json(body)
