"""The chat service's durable consumer: answers ``message.created`` through the upstream AI.

The upstream session is opened on a session's first message and its id stored at once, so every
later message (also after a restart) continues it. Turns are answered in order; a redelivered
message yields the same ``reply.completed`` (deterministic ids) and only one effect (inbox).
"""

from __future__ import annotations

import json
import time

import structlog
from parley_contracts import (
    MessageCreated,
    ReplyCompleted,
    ReplyFailed,
    SessionDeleted,
    derive_id,
)
from parley_runtime import (
    AlreadyProcessed,
    ConsumerSpec,
    HandlerContext,
    Handlers,
    RetryLater,
    UnitOfWork,
    Unprocessable,
)

from .adapters import store
from .domain.ordering import decide
from .domain.upstream import (
    DeltaSink,
    UpstreamAI,
    UpstreamError,
    UpstreamReply,
    UpstreamSessionLost,
)

log = structlog.get_logger(__name__)


class ChatHandlers:
    """Handlers bound to one upstream AI adapter."""

    def __init__(self, upstream: UpstreamAI, *, order_wait_s: float = 0.5) -> None:
        self.upstream = upstream
        self.order_wait_s = order_wait_s

    async def on_message_created(self, event: MessageCreated, ctx: HandlerContext) -> None:
        """Answer one user message, or wait for its predecessors, or drop a duplicate."""
        row = await store.get_upstream(ctx.pool, event.session_id)
        decision = decide(row["last_turn"] if row else 0, event.turn)
        if row is not None and event.turn in row["failed_turns"]:
            decision = "duplicate"  # given up already; its reply.failed is out
        if decision == "duplicate":
            raise AlreadyProcessed(f"turn {event.turn} is already settled")
        if decision == "wait":
            raise RetryLater(
                f"turn {event.turn} waits for turn {(row or {}).get('last_turn', 0) + 1}",
                self.order_wait_s,
            )
        subject = ctx.subjects.live_reply(event.session_id)
        nc = ctx.broker.connection

        async def on_delta(index: int, text: str) -> None:
            payload = {"reply_to": str(event.message_id), "index": index, "text": text}
            await nc.publish(subject, json.dumps(payload).encode())

        started = time.perf_counter()
        try:
            if row is None or row["upstream_id"] is None:
                row = await self._open(event, ctx)
            else:
                log.info("upstream session reused", upstream_id=row["upstream_id"], turn=event.turn)
            reply = await self._send(event, ctx, row, on_delta)
        except UpstreamError as exc:
            if not exc.retryable:  # retrying cannot help: fail the turn now
                raise Unprocessable(str(exc)) from exc
            raise
        latency_ms = int((time.perf_counter() - started) * 1000)

        async with ctx.unit_of_work(event) as uow:
            if not await self._settle(uow, event, answered=True):
                raise AlreadyProcessed(f"turn {event.turn} was settled by another delivery")
            await store.append_transcript(
                uow.conn, event.session_id, event.turn, event.content, reply.content
            )
            await uow.publish(
                ReplyCompleted(
                    event_id=derive_id(event.event_id, "reply.completed"),
                    correlation_id=event.correlation_id or event.message_id,
                    session_id=event.session_id,
                    user_id=event.user_id,
                    message_id=derive_id(event.message_id, "reply.message"),
                    reply_to=event.message_id,
                    turn=event.turn,
                    content=reply.content,
                    prompt=event.content,
                    model=self.upstream.model,
                    provider=self.upstream.provider,
                    upstream_session_id=row["upstream_id"],
                    latency_ms=latency_ms,
                    input_tokens=reply.input_tokens,
                    output_tokens=reply.output_tokens,
                )
            )
        log.info(
            "reply completed",
            turn=event.turn,
            latency_ms=latency_ms,
            upstream_id=row["upstream_id"],
        )

    async def _open(self, event: MessageCreated, ctx: HandlerContext) -> dict:
        upstream_id = await self.upstream.open_session(
            session_id=event.session_id, persona=event.persona, first_message=event.content
        )
        row = await store.save_opened(
            ctx.pool,
            session_id=event.session_id,
            user_id=event.user_id,
            provider=self.upstream.provider,
            model=self.upstream.model,
            upstream_id=upstream_id,
        )
        log.info("upstream session created", upstream_id=upstream_id, opened=row["opened_count"])
        return row

    async def _send(
        self, event: MessageCreated, ctx: HandlerContext, row: dict, on_delta: DeltaSink
    ) -> UpstreamReply:
        """Send the message on the stored upstream session; if the provider lost that session,
        open a new one and send again with the transcript. Only stateless providers get the
        transcript every time (the others keep the conversation themselves)."""
        stateless = self.upstream.stateless
        history = await store.transcript(ctx.pool, event.session_id) if stateless else []
        for rebuilt in (False, True):
            try:
                return await self.upstream.send(
                    upstream_id=row["upstream_id"],
                    content=event.content,
                    turn=event.turn,
                    history=history,
                    on_delta=on_delta,
                )
            except UpstreamSessionLost:
                if rebuilt:
                    raise
                log.warning(
                    "upstream session lost; rebuilding from the transcript",
                    upstream_id=row["upstream_id"],
                )
                row.update(await self._open(event, ctx))
                if not stateless:
                    history = await store.transcript(ctx.pool, event.session_id)
        raise AssertionError("unreachable")

    async def _settle(self, uow: UnitOfWork, event: MessageCreated, *, answered: bool) -> bool:
        return await store.settle_turn(
            uow.conn,
            session_id=event.session_id,
            user_id=event.user_id,
            provider=self.upstream.provider,
            model=self.upstream.model,
            turn=event.turn,
            answered=answered,
        )

    async def on_give_up(self, event: object, reason: str, ctx: HandlerContext) -> None:
        """A message that will not be answered: settle its turn and publish ``reply.failed``."""
        if not isinstance(event, MessageCreated):
            return
        async with ctx.transaction() as uow:
            if not await self._settle(uow, event, answered=False):
                # answered meanwhile (another delivery), or failed already
                log.info("give-up of a settled turn ignored", turn=event.turn)
                return
            await uow.publish(
                ReplyFailed(
                    event_id=derive_id(event.event_id, "reply.failed"),
                    correlation_id=event.correlation_id or event.message_id,
                    session_id=event.session_id,
                    user_id=event.user_id,
                    reply_to=event.message_id,
                    turn=event.turn,
                    reason=reason[:500],
                )
            )

    async def on_session_deleted(self, event: SessionDeleted, ctx: HandlerContext) -> None:
        """Erase the session's upstream session and transcript."""
        async with ctx.unit_of_work(event) as uow:
            await store.erase_session(uow.conn, event.session_id)
            await uow.forget_session(event.session_id)
        log.info("session erased")

    def consumer_spec(self) -> ConsumerSpec:
        """The chat service's durable consumer ``chat``."""
        return ConsumerSpec(
            durable="chat",
            handlers=Handlers()
            .on(MessageCreated, self.on_message_created, precheck=True)
            .on(SessionDeleted, self.on_session_deleted),
            on_give_up=self.on_give_up,
        )
