"""The namer's durable consumer: keeps the first exchanges and names the session after a reply,
in the background of the conversation (the reply is already delivered when naming starts)."""

from __future__ import annotations

import asyncio
import time

import structlog
from parley_contracts import (
    MessageCreated,
    ReplyCompleted,
    SessionDeleted,
    SessionNamed,
    SessionRenamed,
    derive_id,
)
from parley_runtime import ConsumerSpec, HandlerContext, Handlers, RetryLater

from .adapters import store
from .domain.names import MAX_EXCHANGES, Turn, prepare_turns
from .domain.policy import Namer, should_attempt

log = structlog.get_logger(__name__)


class NamerHandlers:
    """Handlers bound to one :class:`Namer` (``attempt_timeout_s``: seconds per attempt)."""

    def __init__(self, namer: Namer, *, attempt_timeout_s: float = 20.0) -> None:
        self.namer = namer
        self.attempt_timeout_s = attempt_timeout_s

    async def on_message_created(self, event: MessageCreated, ctx: HandlerContext) -> None:
        """Keep the user message if it belongs to the first exchanges."""
        async with ctx.unit_of_work(event) as uow:
            await store.ensure_state(uow.conn, event.session_id, event.user_id)
            if event.turn <= MAX_EXCHANGES:
                await store.add_exchange(
                    uow.conn, event.session_id, event.turn, "user", event.content
                )

    async def on_reply_completed(self, event: ReplyCompleted, ctx: HandlerContext) -> None:
        """Keep the reply; after turns 1, 2 and 3 try to name a session still unnamed."""
        state = await store.get_state(ctx.pool, event.session_id)
        status = state["status"] if state else "pending"
        name = language = detail = None
        outcome = None
        started = time.perf_counter()
        if should_attempt(status, event.turn):
            kept = await store.exchanges(ctx.pool, event.session_id)
            if (event.turn, "user") not in kept:
                raise RetryLater("the user message of this reply has not been seen yet")
            kept[(event.turn, "assistant")] = Turn(role="assistant", content=event.content)
            turns = prepare_turns(store.in_order(kept))
            try:
                name, language = await asyncio.wait_for(
                    asyncio.to_thread(self.namer.propose_with_language, turns),
                    timeout=self.attempt_timeout_s,
                )
                outcome = "named" if name else "no_name"
            except Exception as exc:  # an attempt that fails is retried at the next milestone
                outcome, detail = "error", f"{type(exc).__name__}: {exc}"
                log.warning("naming attempt failed", error=detail)
        duration_ms = int((time.perf_counter() - started) * 1000)

        async with ctx.unit_of_work(event) as uow:
            await store.ensure_state(uow.conn, event.session_id, event.user_id)
            if event.turn <= MAX_EXCHANGES:
                await store.add_exchange(
                    uow.conn, event.session_id, event.turn, "assistant", event.content
                )
            if outcome is None:
                return
            current = await store.get_state(uow.conn, event.session_id, for_update=True)
            if current is not None and current["status"] != "pending":
                outcome, detail = "superseded", f"session became {current['status']} meanwhile"
            attempt = await store.record_attempt(
                uow.conn,
                event.session_id,
                trigger_turn=event.turn,
                outcome=outcome,
                name=name if outcome == "named" else None,
                language=language,
                detail=detail,
                duration_ms=duration_ms,
            )
            if outcome != "named" or name is None:
                log.info("no name yet", attempt=attempt, outcome=outcome, turn=event.turn)
                return
            await store.set_named(uow.conn, event.session_id, name, language)
            await uow.publish(
                SessionNamed(
                    event_id=derive_id(event.event_id, "session.named"),
                    correlation_id=event.correlation_id,
                    session_id=event.session_id,
                    user_id=event.user_id,
                    name=name,
                    attempt=attempt,
                    language=language,
                )
            )
        log.info(
            "session named", name=name, attempt=attempt, language=language, duration_ms=duration_ms
        )

    async def on_session_renamed(self, event: SessionRenamed, ctx: HandlerContext) -> None:
        """The user chose a name: stop naming this session automatically."""
        async with ctx.unit_of_work(event) as uow:
            await store.set_user_named(uow.conn, event.session_id, event.user_id, event.name)

    async def on_session_deleted(self, event: SessionDeleted, ctx: HandlerContext) -> None:
        """Erase what the namer keeps of the session."""
        async with ctx.unit_of_work(event) as uow:
            await store.erase_session(uow.conn, event.session_id)
            await uow.forget_session(event.session_id)

    def consumer_spec(self) -> ConsumerSpec:
        """The namer's durable consumer ``namer``."""
        return ConsumerSpec(
            durable="namer",
            handlers=Handlers()
            .on(MessageCreated, self.on_message_created)
            .on(ReplyCompleted, self.on_reply_completed, precheck=True)
            .on(SessionRenamed, self.on_session_renamed)
            .on(SessionDeleted, self.on_session_deleted),
        )
