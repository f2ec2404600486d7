"""Answering one session's turns: the ledger's order, the upstream call, and one atomic write
that settles the turn, stores the upstream session to continue and the transcript, and publishes
``reply.completed`` (or, for a turn given up, ``reply.failed``).

An answered turn settles on the ledger read once the session's lock was taken, in one statement
without a transaction, over the ledger's version; a turn given up meanwhile (a give-up takes no
session lock) moves the version on, and the turn then settles in a transaction on the ledger's
locked row instead.

The upstream session is opened on a session's first message and its id stored (at once, or
atomically with the reply), so every later message (also after a restart) continues it. A
PostgreSQL advisory lock per session keeps every chat process from calling the upstream twice at
once for one session. A redelivered message yields the same ``reply.completed`` (deterministic
ids) and only one effect (inbox).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import structlog
from parley_contracts import (
    MessageCreated,
    ReplyCompleted,
    ReplyDelta,
    ReplyFailed,
    SessionDeleted,
    derive_id,
    storable,
)
from parley_runtime import (
    AlreadyProcessed,
    HandlerContext,
    RetryLater,
    SessionGone,
    UnitOfWork,
    Unprocessable,
    retried,
)

from ..domain.ports import HeldLock, TurnStore, UpstreamRouter
from ..domain.turns import TurnLedger
from ..domain.upstream import UnknownModel, UpstreamAI, UpstreamError, user_reason
from .answering import Answer, TurnAnswerer

log = structlog.get_logger(__name__)

#: Writes of a turn's outcome before it is left to a later delivery: the first over the ledger
#: read under the session's lock, the others over a fresh read of its locked row.
SETTLE_TRIES = 3


class Turns:
    """Answering the turns of sessions through the upstream their model names, in order, and
    settling the turns that will not be answered."""

    def __init__(
        self,
        router: UpstreamRouter,
        store: TurnStore,
        *,
        order_wait_s: float = 0.5,
        turn_deadline_s: float = 60.0,
        retry_base_s: float = 0.5,
    ) -> None:
        self.router = router
        self.store = store
        self.order_wait_s = order_wait_s
        self.answerer = TurnAnswerer(store, deadline_s=turn_deadline_s, base_s=retry_base_s)

    async def answer(self, event: MessageCreated, ctx: HandlerContext) -> None:
        """Answer one user message, or wait for its predecessors or for another call on its
        session to end, or drop a duplicate.

        Raises:
            Unprocessable: the model is not in the catalogue, or the upstream failed for good
                (a reason a user can read).
            RetryLater: another call of the session is in flight, or an earlier turn is open.
            AlreadyProcessed: the turn is settled already.
            SessionGone: the session was deleted (nothing is called or written).
            WriteConflict: the ledger changed at each of :data:`SETTLE_TRIES` writes of the
                answer (the upstream is not called again in between).
        """
        async with self.store.session_lock(ctx.pool, event.session_id) as locked:
            if locked is None:
                raise RetryLater("another call for this session is in flight", self.order_wait_s)
            if locked.gone:
                raise SessionGone(f"session {event.session_id} was deleted")
            try:
                upstream = self.router.for_model(event.model)
            except UnknownModel as exc:
                raise Unprocessable(str(exc)) from exc
            ledger = locked.ledger or self._new_ledger(event, upstream)
            self._check_order(event, ledger)
            subject = ctx.subjects.live_reply(event.session_id)
            nc = ctx.broker.connection

            async def on_delta(index: int, text: str) -> None:
                if not event.live:  # nobody streams this reply: only the whole one is sent
                    return
                delta = ReplyDelta(reply_to=event.message_id, index=index, text=text)
                await nc.publish(subject, delta.to_json())

            started = time.perf_counter()
            try:
                async with self.router.slot(event.model):
                    answer = await self.answerer.answer(event, upstream, ctx.pool, ledger, on_delta)
            except UpstreamError as exc:
                log.warning("upstream failed for good", kind=exc.kind, error=str(exc)[:300])
                raise Unprocessable(user_reason(exc)) from exc
            latency_ms = int((time.perf_counter() - started) * 1000)
            read = ledger  # then fresh reads of its locked row, when a give-up changed it

            async def settle(n: int) -> None:
                ledger_read = read if n == 0 else None
                await self._complete(
                    event, ctx, upstream, answer, latency_ms, ledger_read, locked.hold
                )

            await retried(
                settle, tries=SETTLE_TRIES,
                note="turn ledger changed during the turn; settling on its locked row",
            )  # fmt: skip

    def _check_order(self, event: MessageCreated, ledger: TurnLedger) -> None:
        """Go on only with the session's next turn (the ledger's rule).

        Raises:
            AlreadyProcessed: the turn is settled already (answered, or given up: its
                ``reply.failed`` is out).
            RetryLater: an earlier turn is not settled yet.
        """
        decision = ledger.decide(event.turn)
        if decision == "duplicate":
            raise AlreadyProcessed(f"turn {event.turn} is already settled")
        if decision == "wait":
            raise RetryLater(
                f"turn {event.turn} waits for turn {ledger.next_turn}", self.order_wait_s
            )

    def _new_ledger(self, event: MessageCreated, upstream: UpstreamAI | None) -> TurnLedger:
        return TurnLedger(
            session_id=event.session_id,
            user_id=event.user_id,
            provider=upstream.provider if upstream else "unknown",
            model=upstream.model if upstream else event.model,
        )

    async def _complete(
        self,
        event: MessageCreated,
        ctx: HandlerContext,
        upstream: UpstreamAI,
        answer: Answer,
        latency_ms: int,
        ledger: TurnLedger | None,
        hold: HeldLock | None = None,
    ) -> None:
        """Settle the turn, store the upstream session to continue and the transcript, and
        publish ``reply.completed``, together: with the ``ledger`` read under the session's
        lock, in one statement without a transaction (an optimistic unit of work, refused
        whole if the ledger's row moved on meanwhile), on the connection that holds the lock
        (``hold``, :attr:`~..domain.ports.LockedSession.hold`), which that statement hands
        over; with None, in a transaction on the ledger's locked row.

        Raises:
            WriteConflict: ``ledger``'s row is at another version now (nothing was written).
            AlreadyProcessed, SessionGone: as :meth:`answer`.
        """
        reply = answer.reply
        content = storable(reply.content)  # an upstream's NUL or lone surrogate becomes U+FFFD
        # The session lock's read found the session standing and the turn open: the inbox mark
        # can come last, with the outbox row (a session deleted since still refuses it all).
        optimistic = ledger is not None
        hold = hold if optimistic else None
        on = hold.conn if hold is not None else None
        async with ctx.unit_of_work(event, late_mark=True, optimistic=optimistic, on=on) as uow:
            ledger = ledger or await self._ledger(uow, event, upstream)
            if not ledger.settle(event.turn, answered=True):
                raise AlreadyProcessed(f"turn {event.turn} was settled by another delivery")
            ledger.continue_on(answer.upstream_id, opened=answer.opened)
            await self.store.save_turn(
                uow, ledger, event.turn, event.content, content, hand_over=hold
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
                    content=content,
                    prompt=event.content,
                    model=upstream.model,
                    provider=upstream.provider,
                    upstream_session_id=answer.upstream_id or "",
                    upstream_response_id=reply.response_id,
                    finish_reason=reply.finish_reason,
                    latency_ms=latency_ms,
                    input_tokens=reply.input_tokens,
                    output_tokens=reply.output_tokens,
                    retries=answer.retries,
                    upstream_done_at=_aware(reply.last_byte_at),
                )
            )
        log.debug(
            "reply completed",
            turn=event.turn,
            latency_ms=latency_ms,
            upstream_id=answer.upstream_id,
            retries=answer.retries,
        )

    async def _ledger(
        self, uow: UnitOfWork, event: MessageCreated, upstream: UpstreamAI | None
    ) -> TurnLedger:
        """The session's ledger, locked for this transaction (a new one on its first turn)."""
        ledger = await self.store.load(uow.conn, event.session_id, for_update=True)
        return ledger or self._new_ledger(event, upstream)

    async def give_up(self, event: MessageCreated, reason: str, ctx: HandlerContext) -> None:
        """A message that will not be answered: settle its turn and publish ``reply.failed``."""
        try:
            upstream: UpstreamAI | None = self.router.for_model(event.model)
        except UnknownModel:
            upstream = None
        # Tried again when the answering turn stored a first ledger meanwhile.
        await retried(lambda _: self._fail(event, ctx, upstream, reason), tries=SETTLE_TRIES)

    async def _fail(
        self, event: MessageCreated, ctx: HandlerContext, upstream: UpstreamAI | None, reason: str
    ) -> None:
        """Settle the turn given up on the ledger's locked row and publish ``reply.failed``.

        Raises:
            WriteConflict: the session had no ledger when read, and one was stored meanwhile.
        """
        async with ctx.transaction() as uow:
            ledger = await self._ledger(uow, event, upstream)
            if not ledger.settle(event.turn, answered=False):
                # answered meanwhile (another delivery), or failed already
                log.info("give-up of a settled turn ignored", turn=event.turn)
                return
            await self.store.save(uow.conn, ledger)
            await uow.publish(
                ReplyFailed(
                    event_id=derive_id(event.event_id, "reply.failed"),
                    correlation_id=event.correlation_id or event.message_id,
                    session_id=event.session_id,
                    user_id=event.user_id,
                    reply_to=event.message_id,
                    turn=event.turn,
                    reason=reason.removeprefix("unprocessable: ")[:500],
                )
            )

    async def erase(self, event: SessionDeleted, ctx: HandlerContext) -> None:
        """Erase the session's upstream session and transcript."""
        async with ctx.unit_of_work(event) as uow:
            await self.store.erase_session(uow.conn, event.session_id)
            await uow.forget_session(event.session_id)
        log.info("session erased")


def _aware(epoch_s: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch_s, UTC) if epoch_s is not None else None
