"""What routes get through FastAPI ``Depends``: the gateway's settings and ports, held by one
:class:`Gateway` that the app builds (tests may override any provider).

The providers are ``async def`` although they do not await: FastAPI runs a plain ``def``
dependency in its thread pool, a thread hop per dependency and request on the hot path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from ..domain.idempotency import RequestKey, fingerprint
from ..domain.ports import (
    NamingSource,
    ReplyWatcher,
    SessionEvents,
    TraceSource,
    UnitOfWorkFactory,
)
from ..settings import GatewaySettings


@dataclass(frozen=True)
class Gateway:
    """The gateway's settings and the adapters behind its ports."""

    settings: GatewaySettings
    unit_of_work: UnitOfWorkFactory
    reads: UnitOfWorkFactory
    replies: ReplyWatcher
    session_events: SessionEvents
    traces: TraceSource
    naming: NamingSource


async def gateway(request: Request) -> Gateway:
    """The :class:`Gateway` of the running app."""
    return request.app.state.gateway


async def get_settings(gw: Annotated[Gateway, Depends(gateway)]) -> GatewaySettings:
    """The gateway's settings."""
    return gw.settings


async def get_unit_of_work(gw: Annotated[Gateway, Depends(gateway)]) -> UnitOfWorkFactory:
    """Opens the gateway's units of work."""
    return gw.unit_of_work


async def get_reads(gw: Annotated[Gateway, Depends(gateway)]) -> UnitOfWorkFactory:
    """Opens units of work for one-statement reads (no transaction)."""
    return gw.reads


async def get_replies(gw: Annotated[Gateway, Depends(gateway)]) -> ReplyWatcher:
    """Opens reply watches."""
    return gw.replies


async def get_session_events(gw: Annotated[Gateway, Depends(gateway)]) -> SessionEvents:
    """The session changes of this replica's users."""
    return gw.session_events


async def get_traces(gw: Annotated[Gateway, Depends(gateway)]) -> TraceSource:
    """Asks the owner of LLM traces."""
    return gw.traces


async def get_naming(gw: Annotated[Gateway, Depends(gateway)]) -> NamingSource:
    """Asks the owner of naming."""
    return gw.naming


#: The whole :class:`Gateway`, for the routes on every message's path (posting a message,
#: creating a session): FastAPI solves each dependency of a route on each request, so one
#: dependency for all the ports costs less than one per port.
Gw = Annotated[Gateway, Depends(gateway)]
Settings = Annotated[GatewaySettings, Depends(get_settings)]
Uow = Annotated[UnitOfWorkFactory, Depends(get_unit_of_work)]
Reads = Annotated[UnitOfWorkFactory, Depends(get_reads)]
Replies = Annotated[ReplyWatcher, Depends(get_replies)]
Feed = Annotated[SessionEvents, Depends(get_session_events)]
Traces = Annotated[TraceSource, Depends(get_traces)]
Naming = Annotated[NamingSource, Depends(get_naming)]

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def request_key(key: str | None, request: Request, body: object) -> RequestKey | None:
    """The request's :class:`RequestKey` when it carries an ``Idempotency-Key``; ``body`` is
    the parsed body as JSON-compatible data."""
    if not key:
        return None
    return RequestKey(key, fingerprint(request.method, request.url.path, body))
