"""Settling a delivery: run its handler, turn what happened into an outcome, ask the pure
delivery policy (:func:`parley_runtime.delivery.next_step`) for the step, and apply it to the
JetStream message: ack, nak with a delay, or dead-letter after the consumer's give-up hook.

A dead letter is the original payload published on ``<prefix>.deadletter.<consumer>.<session>``
in the same stream, with the reason, the subject and the delivery count as headers.
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from dataclasses import dataclass, field

import structlog
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from parley_contracts import Event, Subjects

from .batching import TransactionBatcher
from .db import database_answers, database_unreachable
from .delivery import (
    Ack,
    DeadLetter,
    DeliveryPolicy,
    Dropped,
    Duplicate,
    Failed,
    Handled,
    Nak,
    NotReady,
    Outcome,
    Rejected,
    Step,
    Unavailable,
    needs_waits,
    next_step,
)
from .handlers import ConsumerSpec, EventHandler, HandlerContext, RetryLater, Unprocessable
from .inbox import prior_state
from .metrics import EVENTS, HANDLING, child
from .refusals import AlreadyProcessed, SessionGone
from .settings import RuntimeSettings
from .tracing import consuming

log = structlog.get_logger(__name__)

#: Pauses, in seconds, between tries in place while the database is out of reach.
OUTAGE_PAUSES_S = (0.5, 1.0, 2.0, 4.0, 5.0)


#: Most events whose outage deliveries one consumer remembers (the oldest are forgotten).
MAX_REMEMBERED_OUTAGES = 10_000


@dataclass
class Settler:
    """Handles and settles the deliveries of one consumer (``spec``) with ``settings``.

    It remembers, per event, how many deliveries met a database outage (in memory, so a
    restarted process counts them as failures again), so that an outage does not spend the
    event's failure budget."""

    spec: ConsumerSpec
    settings: RuntimeSettings
    subjects: Subjects
    broker: NatsBroker
    _outages: dict[uuid.UUID, int] = field(default_factory=dict)
    _batcher: TransactionBatcher = field(init=False)

    def __post_init__(self) -> None:
        self._batcher = TransactionBatcher(
            self.spec.durable, self._alone, self.settings.max_batch_events
        )

    async def run(self, handler: EventHandler, event: Event, msg: Msg, ctx: HandlerContext) -> None:
        """Handle one delivery inside its consumer span, then apply the policy's step to it."""
        delivery = ctx.delivery
        started = time.perf_counter()
        with consuming(
            service=ctx.schema,
            consumer=self.spec.durable,
            subject=msg.subject,
            event_type=event.event_type,
            event_id=str(event.event_id),
            session_id=str(event.session_id),
            headers=msg.headers,
        ) as span:
            outcome = await self._outcome(handler, event, ctx)
            outcome = await self._through_outage(outcome, handler, event, ctx)
            span.set_attribute("parley.outcome", type(outcome).__name__)
        waits = await self._waits(ctx, event) if needs_waits(outcome) else 0
        outages = self._outages.pop(event.event_id, 0)
        step = next_step(outcome, delivery, waits, self.policy, outages)
        if isinstance(outcome, Unavailable) and isinstance(step, Nak):
            if len(self._outages) >= MAX_REMEMBERED_OUTAGES:
                del self._outages[next(iter(self._outages))]
            self._outages[event.event_id] = outages + 1
        try:
            await self._apply(step, outcome, event, msg, ctx)
        finally:
            child(EVENTS, self.spec.durable, event.event_type, step.label).inc()
            child(HANDLING, self.spec.durable, event.event_type).observe(
                time.perf_counter() - started
            )

    async def _through_outage(
        self, outcome: Outcome, handler: EventHandler, event: Event, ctx: HandlerContext
    ) -> Outcome:
        """While the handler fails because the database is out of reach, try it again in place
        (the consumer keeps the delivery in progress) for up to ``db_outage_wait_s`` seconds, so
        a short outage spends none of the event's deliveries. A longer one ends as
        :class:`Unavailable`, redelivered without counting as a failure."""
        deadline = time.monotonic() + self.settings.db_outage_wait_s
        tries = 0
        while isinstance(outcome, Unavailable):
            pause = OUTAGE_PAUSES_S[min(tries, len(OUTAGE_PAUSES_S) - 1)]
            if time.monotonic() + pause > deadline:
                break
            log.info("database out of reach; handling again in place", pause_s=pause)
            await asyncio.sleep(pause)
            tries += 1
            outcome = await self._outcome(handler, event, ctx)
        return outcome

    async def reject(self, msg: Msg, reason: str) -> None:
        """Dead-letter a delivery that does not validate and end its redeliveries."""
        await self._dead_letter(msg, None, reason)
        await msg.term()
        child(EVENTS, self.spec.durable, "invalid", "dead_lettered").inc()

    async def _outcome(self, handler: EventHandler, event: Event, ctx: HandlerContext) -> Outcome:
        """Handle ``event`` in a batch when its handler allows it, else alone."""
        if self.spec.handlers.batched(event):
            return await self._batcher.submit(handler, event, ctx)
        return await self._alone(handler, event, ctx)

    async def _alone(self, handler: EventHandler, event: Event, ctx: HandlerContext) -> Outcome:
        """Run the pre-check and the handler in transactions of their own; what happened, as a
        value (never raises)."""
        try:
            if self.spec.handlers.prechecked(event.event_type):
                deleted, processed = await prior_state(ctx.pool, ctx.consumer, event)
                if processed:
                    return Duplicate()
                if deleted and event.event_type != "session.deleted":
                    return Dropped()
            await handler(event, ctx)
        except AlreadyProcessed:
            return Duplicate()
        except SessionGone:
            return Dropped()
        except RetryLater as exc:
            return NotReady(str(exc), exc.delay_s)
        except Unprocessable as exc:
            return Rejected(str(exc))
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            if database_unreachable(exc) and not await database_answers(ctx.pool):
                log.warning("database unavailable", error=error, delivery=ctx.delivery)
                return Unavailable(error)
            # The traceback once, on the delivery that is the last try when nothing waited.
            log.warning(
                "event failed",
                error=error,
                delivery=ctx.delivery,
                exc_info=ctx.delivery >= self.settings.max_deliver,
            )
            return Failed(error)
        return Handled()

    async def _apply(
        self, step: Step, outcome: Outcome, event: Event, msg: Msg, ctx: HandlerContext
    ) -> None:
        """Settle the delivery as ``step`` says, logging why."""
        match step:
            case Ack(label):
                if label == "dropped":
                    log.info("event of a deleted session dropped")
                elif label == "duplicate":
                    log.debug("duplicate delivery ignored", delivery=ctx.delivery)
                await msg.ack()
            case Nak(delay_s, count_wait, _):
                if count_wait:
                    await self._count_wait(ctx, event)
                log.info(
                    "event redelivered later",
                    outcome=type(outcome).__name__,
                    delivery=ctx.delivery,
                    delay_s=delay_s,
                )
                await msg.nak(delay=delay_s)
            case DeadLetter(reason):
                await self._give_up(event, msg, ctx, reason)

    async def _count_wait(self, ctx: HandlerContext, event: Event) -> None:
        """Count a delivery spent waiting (RetryLater) for this consumer and event (logged and
        skipped if the database cannot take it)."""
        try:
            await ctx.pool.execute(
                "INSERT INTO delivery_waits (consumer, event_id, waits) VALUES ($1, $2, 1)"
                " ON CONFLICT (consumer, event_id) DO UPDATE SET waits = delivery_waits.waits + 1,"
                " updated_at = now()",
                self.spec.durable,
                event.event_id,
            )
        except Exception:
            log.warning("could not count a wait", exc_info=True)

    async def _waits(self, ctx: HandlerContext, event: Event) -> int | None:
        """Deliveries of ``event`` spent waiting, on any replica (0 on the usual path); None when
        the database cannot tell."""
        try:
            waits = await ctx.pool.fetchval(
                "SELECT waits FROM delivery_waits WHERE consumer = $1 AND event_id = $2",
                self.spec.durable,
                event.event_id,
            )
        except Exception:
            log.warning("could not read the wait count", exc_info=True)
            return None
        return int(waits or 0)

    @functools.cached_property
    def policy(self) -> DeliveryPolicy:
        """The delivery policy of these settings (made once: settings do not change)."""
        return DeliveryPolicy(
            max_deliver=self.settings.max_deliver,
            max_wait_deliveries=self.settings.max_wait_deliveries,
            backoff_s=self.settings.backoff_s,
        )

    async def _give_up(self, event: Event, msg: Msg, ctx: HandlerContext, reason: str) -> None:
        """Run the give-up hook, then dead-letter the event. If the hook fails (its effect, such
        as ``reply.failed``, would be lost), redeliver instead, up to the server's limit."""
        if self.spec.on_give_up is not None:
            try:
                await self.spec.on_give_up(event, reason, ctx)
            except Exception:
                last = self.policy.is_last(msg.metadata.num_delivered or 1)
                log.exception("give-up hook failed", dead_letter_now=last)
                if not last:
                    await msg.nak(delay=self.policy.backoff(len(self.settings.backoff_s)))
                    return
        await self._dead_letter(msg, event, reason)
        await msg.term()

    async def _dead_letter(self, msg: Msg, event: Event | None, reason: str) -> None:
        """Publish the original payload to the dead-letter subject, with why and where from."""
        seq = msg.metadata.sequence.stream if msg.metadata.sequence else 0
        subject = self.subjects.dead_letter(self.spec.durable, event.session_id if event else None)
        await self.broker.connection.jetstream().publish(
            subject,
            msg.data,
            stream=self.settings.stream,
            headers={
                "Nats-Msg-Id": f"dead:{self.spec.durable}:{seq}",
                "Parley-Error": reason[:1000],
                "Parley-Subject": msg.subject,
                "Parley-Deliveries": str(msg.metadata.num_delivered or 1),
            },
        )
        log.error("event dead-lettered", subject=subject, reason=reason[:300])
