"""Routes of naming on request: suggestions, regenerate, analytics. Each calls one use case of
:mod:`parley_gateway.application.naming`; the namer, which owns naming, is asked over NATS
(503 if it does not answer)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from parley_contracts import NamingAnalytics

from ..application import naming
from .auth import CurrentUser
from .deps import Naming, Uow
from .schemas import NameSuggestions, SessionOut

router = APIRouter(prefix="/api", tags=["naming"])

_CONFLICT = {409: {"description": "The session's user named it, or there is nothing to name"}}
_UNAVAILABLE = {503: {"description": "The namer did not answer"}}


@router.post(
    "/sessions/{session_id}/name-suggestions",
    response_model=NameSuggestions,
    operation_id="suggestNames",
    responses={**_CONFLICT, **_UNAVAILABLE},
)
async def suggest_names(
    session_id: uuid.UUID, user: CurrentUser, uow: Uow, namer: Naming
) -> NameSuggestions:
    """Up to 3 distinct names for the session from its first exchanges; nothing changes until
    the user applies one with ``PATCH /api/sessions/{id}`` (then it is the user's name)."""
    answer = await naming.suggest_names(uow, namer, user, session_id)
    return NameSuggestions(titles=answer.titles, language=answer.language, namer=answer.namer)


@router.post(
    "/sessions/{session_id}/name:regenerate",
    response_model=SessionOut,
    operation_id="regenerateName",
    responses={**_CONFLICT, **_UNAVAILABLE},
)
async def regenerate_name(
    session_id: uuid.UUID, user: CurrentUser, uow: Uow, namer: Naming
) -> SessionOut:
    """Name the session again from its current conversation (``name_source`` "auto"); 409 for
    a session its user named."""
    return SessionOut.model_validate(await naming.regenerate_name(uow, namer, user, session_id))


@router.get(
    "/analytics/naming",
    response_model=NamingAnalytics,
    operation_id="namingAnalytics",
    responses=_UNAVAILABLE,
)
async def naming_analytics(user: CurrentUser, namer: Naming) -> NamingAnalytics:
    """Naming attempts of the caller's sessions: success rate, attempts per session, latency
    p50/p95 (ms), words, languages, namers, outcomes, fallbacks and tokens."""
    return await naming.naming_analytics(namer, user)
