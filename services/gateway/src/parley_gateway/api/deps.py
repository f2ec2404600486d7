"""What routes get through FastAPI ``Depends``: the gateway's settings and ports, held by one
:class:`Gateway` that the app builds (tests may override any provider)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from ..domain.idempotency import RequestKey, fingerprint
from ..domain.ports import ReplyWatcher, SessionEvents, TraceSource, UnitOfWorkFactory
from ..settings import GatewaySettings


@dataclass(frozen=True)
class Gateway:
    """The gateway's settings and the adapters behind its ports."""

    settings: GatewaySettings
    unit_of_work: UnitOfWorkFactory
    replies: ReplyWatcher
    session_events: SessionEvents
    traces: TraceSource


def gateway(request: Request) -> Gateway:
    """The :class:`Gateway` of the running app."""
    return request.app.state.gateway


def _settings(gw: Annotated[Gateway, Depends(gateway)]) -> GatewaySettings:
    return gw.settings


def _unit_of_work(gw: Annotated[Gateway, Depends(gateway)]) -> UnitOfWorkFactory:
    return gw.unit_of_work


def _replies(gw: Annotated[Gateway, Depends(gateway)]) -> ReplyWatcher:
    return gw.replies


def _session_events(gw: Annotated[Gateway, Depends(gateway)]) -> SessionEvents:
    return gw.session_events


def _traces(gw: Annotated[Gateway, Depends(gateway)]) -> TraceSource:
    return gw.traces


Settings = Annotated[GatewaySettings, Depends(_settings)]
Uow = Annotated[UnitOfWorkFactory, Depends(_unit_of_work)]
Replies = Annotated[ReplyWatcher, Depends(_replies)]
Feed = Annotated[SessionEvents, Depends(_session_events)]
Traces = Annotated[TraceSource, Depends(_traces)]

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def request_key(key: str | None, request: Request, body: object) -> RequestKey | None:
    """The request's :class:`RequestKey` when it carries an ``Idempotency-Key``; ``body`` is
    the parsed body as JSON-compatible data."""
    if not key:
        return None
    return RequestKey(key, fingerprint(request.method, request.url.path, body))
