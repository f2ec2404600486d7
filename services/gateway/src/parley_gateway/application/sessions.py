"""Use cases of sessions: create, list, read, edit, delete."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from parley_contracts import SessionChange, SessionCreated, SessionDeleted, SessionRenamed

from ..domain.idempotency import IdempotencyKeyReused, RequestKey
from ..domain.messages import Message
from ..domain.ports import Keyset, UnitOfWork, UnitOfWorkFactory
from ..domain.sessions import RuleViolation, Session, SessionNotFound, check_name
from ..settings import GatewaySettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class NewSession:
    """What a client may set on a new session (all optional)."""

    name: str | None = None
    persona: str | None = None
    model: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    analytics_opt_out: bool = False
    idle_ttl_s: int | None = None  # None: the server's default


#: The most idle sessions one maintenance pass erases (the next pass takes the rest).
EXPIRY_BATCH = 200


@dataclass(frozen=True)
class SessionEdit:
    """A client's edit: only the fields in ``given`` change (``persona`` None clears it,
    ``idle_ttl_s`` None makes the session never expire)."""

    given: frozenset[str]
    name: str | None = None
    is_archived: bool | None = None
    persona: str | None = None
    metadata: dict[str, Any] | None = None
    idle_ttl_s: int | None = None


def check_metadata(metadata: dict[str, Any] | None, max_bytes: int) -> None:
    """Raises RuleViolation: ``metadata`` as JSON is longer than ``max_bytes``."""
    if metadata is not None and len(json.dumps(metadata)) > max_bytes:
        raise RuleViolation(f"metadata is larger than {max_bytes} bytes")


async def load(uow: UnitOfWork, session_id: uuid.UUID, user: str, *, lock: bool) -> Session:
    """The user's session; raises SessionNotFound (also for another user's session)."""
    session = await uow.sessions.get(session_id, user, for_update=lock)
    if session is None:
        raise SessionNotFound(str(session_id))
    return session


async def create_session(
    uow_factory: UnitOfWorkFactory,
    settings: GatewaySettings,
    user: str,
    new: NewSession,
    request_key: RequestKey | None = None,
) -> tuple[Session, bool]:
    """Create a session (a name given here is the user's); returns ``(session, created)``:
    a retry with the same ``request_key`` returns the first session, not created.

    Without a ``request_key`` nothing is read, so the session is added in one statement
    without a transaction (an optimistic unit of work, whose only write is the new row).

    Raises:
        RuleViolation: bad name or metadata. IdempotencyKeyReused: the key named another request.
    """
    check_metadata(new.metadata, settings.max_metadata_bytes)
    name = check_name(new.name, settings.max_name_chars) if new.name else None
    session = Session(
        id=uuid.uuid4(),
        user_id=user,
        name=name or settings.default_session_name,
        name_source="user" if name else "default",
        model=new.model or settings.default_model,
        persona=new.persona,
        metadata=new.metadata,
        analytics_opt_out=new.analytics_opt_out,
        idle_ttl_s=new.idle_ttl_s or settings.default_idle_ttl_s,
    )
    async with uow_factory(optimistic=request_key is None) as uow:
        if request_key is not None:
            earlier = await uow.idempotency_keys.claim(
                user,
                request_key.key,
                "session",
                session.id,
                request_key.fingerprint,
                settings.idempotency_ttl_s,
            )
            if earlier is not None:
                if not earlier.matches("session", request_key.fingerprint):
                    raise IdempotencyKeyReused("this key was used for another request")
                return await load(uow, earlier.resource_id, user, lock=False), False
        await uow.sessions.add(session)
        await uow.publish(
            SessionCreated(
                session_id=session.id,
                user_id=user,
                name=session.name,
                name_source=session.name_source,
                model=session.model,
                persona=session.persona,
                analytics_opt_out=session.analytics_opt_out,
            )
        )
        await uow.announce(
            SessionChange(
                event="session.created", user_id=user, session_id=session.id, name=session.name
            )
        )
    log.info("session created", session_id=str(session.id), user_id=user)
    return session, True


async def list_sessions(
    uow_factory: UnitOfWorkFactory,
    user: str,
    *,
    limit: int,
    after: Keyset | None = None,
    include_archived: bool = False,
    query: str | None = None,
) -> tuple[list[Session], bool]:
    """One page of the user's sessions, newest activity first; returns ``(page, more)``."""
    async with uow_factory() as uow:
        found = await uow.sessions.page(
            user, limit=limit + 1, after=after, include_archived=include_archived, query=query
        )
    return found[:limit], len(found) > limit


async def get_session(
    uow_factory: UnitOfWorkFactory, user: str, session_id: uuid.UUID, *, with_messages: bool
) -> tuple[Session, list[Message] | None]:
    """The user's session and, if asked, all its messages. Raises SessionNotFound."""
    async with uow_factory() as uow:
        session = await load(uow, session_id, user, lock=False)
        messages = await uow.messages.page(session_id) if with_messages else None
    return session, messages


async def edit_session(
    uow_factory: UnitOfWorkFactory,
    settings: GatewaySettings,
    user: str,
    session_id: uuid.UUID,
    edit: SessionEdit,
) -> Session:
    """Rename (the user's name, never replaced), archive, or change persona or metadata.

    Raises:
        RuleViolation: a null or bad name, metadata too large. SessionNotFound.
    """
    if "name" in edit.given and edit.name is None:
        raise RuleViolation("name cannot be null")
    check_metadata(edit.metadata, settings.max_metadata_bytes)
    async with uow_factory() as uow:
        session = await load(uow, session_id, user, lock=True)
        changed = edit.given - ({"is_archived"} if edit.is_archived is None else set())
        if not changed:
            return session
        if edit.name is not None:
            session.rename(edit.name, settings.max_name_chars)
            await uow.publish(
                SessionRenamed(session_id=session_id, user_id=user, name=session.name)
            )
        session.edit(
            is_archived=edit.is_archived,
            persona=edit.persona,
            clear_persona="persona" in edit.given and edit.persona is None,
            metadata=(edit.metadata or {}) if "metadata" in edit.given else None,
            idle_ttl_s=edit.idle_ttl_s,
            clear_idle_ttl="idle_ttl_s" in edit.given and edit.idle_ttl_s is None,
        )
        await uow.sessions.save(session)
        await uow.announce(
            SessionChange(
                event="session.updated",
                user_id=user,
                session_id=session_id,
                name=session.name,
                name_source=session.name_source,
                is_archived=session.is_archived,
            )
        )
    return session


async def delete_session(uow_factory: UnitOfWorkFactory, user: str, session_id: uuid.UUID) -> None:
    """Delete the user's session; every service erases its data (``session.deleted``).

    Raises:
        SessionNotFound.
    """
    async with uow_factory() as uow:
        await _erase(uow, await load(uow, session_id, user, lock=True))
    log.info("session deleted", session_id=str(session_id))


async def expire_idle_sessions(
    uow_factory: UnitOfWorkFactory, now: datetime | None = None, limit: int = EXPIRY_BATCH
) -> int:
    """Delete, as :func:`delete_session` does, up to ``limit`` sessions idle past their
    ``idle_ttl_s`` at ``now`` (default: the current UTC time); returns how many."""
    now = now or datetime.now(UTC)
    async with uow_factory() as uow:
        expired = [s for s in await uow.sessions.idle_past(now, limit) if s.is_expired(now)]
        for session in expired:
            await _erase(uow, session)
    for session in expired:
        log.info("idle session expired", session_id=str(session.id), idle_ttl_s=session.idle_ttl_s)
    return len(expired)


async def _erase(uow: UnitOfWork, session: Session) -> None:
    """Remove a loaded, locked session; ``session.deleted`` tells every service to erase its
    data of it and the user's event streams that it is gone."""
    await uow.sessions.delete(session.id)
    await uow.publish(SessionDeleted(session_id=session.id, user_id=session.user_id))
    await uow.announce(
        SessionChange(event="session.deleted", user_id=session.user_id, session_id=session.id)
    )
