"""Use cases of naming on request: name suggestions, a regenerated name, naming analytics. The
namer owns naming; the gateway asks it (NATS request/reply) with the conversation it stores."""

from __future__ import annotations

import uuid

import structlog
from parley_contracts import (
    NAMING_MAX_CHARS,
    NAMING_MAX_MESSAGES,
    NamingAnalytics,
    NamingAnalyticsQuery,
    NamingAnswer,
    NamingRequest,
    NamingTurn,
    SessionChange,
)

from ..domain.ports import NamingSource, UnitOfWorkFactory
from ..domain.sessions import NamingConflict, Session
from .sessions import load

log = structlog.get_logger(__name__)

#: Suggestions offered at once.
SUGGESTIONS = 3


async def _conversation(
    uow_factory: UnitOfWorkFactory, user: str, session_id: uuid.UUID
) -> tuple[Session, list[NamingTurn]]:
    """The user's session and its first messages, each cut to what a namer reads.

    Raises:
        SessionNotFound. NamingConflict: no user message yet.
    """
    async with uow_factory() as uow:
        session = await load(uow, session_id, user, lock=False)
        messages = await uow.messages.page(session_id, limit=NAMING_MAX_MESSAGES)
    turns = [
        NamingTurn(role=m.role, content=m.content[:NAMING_MAX_CHARS]) for m in messages if m.content
    ]
    if not any(t.role == "user" for t in turns):
        raise NamingConflict("the session has no message to name yet")
    return session, turns


def _request(session: Session, turns: list[NamingTurn], purpose: str, count: int) -> NamingRequest:
    """The namer's request; a name made again avoids the session's current automatic name."""
    generated = session.name_source in ("provisional", "auto")
    return NamingRequest(
        user_id=session.user_id,
        session_id=session.id,
        purpose=purpose,  # type: ignore[arg-type]
        count=count,
        turns=turns,
        avoid=[session.name] if purpose == "regenerate" and generated else [],
        analytics_opt_out=session.analytics_opt_out,
    )


async def suggest_names(
    uow_factory: UnitOfWorkFactory, naming: NamingSource, user: str, session_id: uuid.UUID
) -> NamingAnswer:
    """Up to 3 distinct names for the user's session (nothing changes: the user applies one
    with a rename).

    Raises:
        SessionNotFound. NamingConflict: nothing to name yet, or no name could be made.
        OwnerUnavailable: the namer did not answer.
    """
    session, turns = await _conversation(uow_factory, user, session_id)
    answer = await naming.names(_request(session, turns, "suggest", SUGGESTIONS))
    if not answer.titles:
        raise NamingConflict("no name can be made from this conversation yet")
    return answer


async def regenerate_name(
    uow_factory: UnitOfWorkFactory, naming: NamingSource, user: str, session_id: uuid.UUID
) -> Session:
    """Name the user's session again from its current conversation (a generated name,
    ``name_source`` "auto", another than the current one whenever another can be made); the
    user's own name is never replaced.

    Raises:
        SessionNotFound. NamingConflict: the user named the session (before or meanwhile), or
        nothing can be named yet. OwnerUnavailable: the namer did not answer.
    """
    session, turns = await _conversation(uow_factory, user, session_id)
    if not session.accepts_regenerated_name():
        raise NamingConflict("the session was named by its user; rename it instead")
    answer = await naming.names(_request(session, turns, "regenerate", 1))
    if not answer.titles:
        raise NamingConflict("no name can be made from this conversation yet")
    async with uow_factory() as uow:
        session = await load(uow, session_id, user, lock=True)
        if not session.apply_regenerated_name(answer.titles[0]):
            raise NamingConflict("the session was named by its user; rename it instead")
        await uow.sessions.save(session)
        await uow.announce(
            SessionChange(
                event="session.named",
                user_id=user,
                session_id=session.id,
                name=session.name,
                name_source=session.name_source,
            )
        )
    log.info("session named again", session_id=str(session_id), namer=answer.namer)
    return session


async def naming_analytics(naming: NamingSource, user: str) -> NamingAnalytics:
    """The naming analytics of the user's sessions.

    Raises:
        OwnerUnavailable: the namer did not answer.
    """
    return await naming.analytics(NamingAnalyticsQuery(user_id=user))
