"""The bus: the FastStream NATS broker, the stream, and durable event consumers.

A consumer is one durable JetStream pull consumer per service, filtered to the event types it
handles, with explicit acks, pulled in batches through nats-py on the broker's connection (each
batch is queued in delivery order before the next pull). Each delivered event is validated against its contract, handled with
the events of the same session in order, and then acked. A failure is redelivered after a backoff
(``nak`` with a delay); after ``max_deliver`` failed deliveries (deliveries spent waiting for an
earlier event, ``RetryLater``, do not count), at once when the handler says it can never succeed
(``Unprocessable``), or at once when the event does not validate, it goes to the dead-letter
subject ``<prefix>.deadletter.<consumer>.<session_id>``, after the consumer's give-up hook ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy as JsAckPolicy,
)
from nats.js.api import (
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError
from parley_contracts import Event, StreamSpec, Subjects, parse_event
from pydantic import ValidationError

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
    needs_waits,
    next_step,
)
from .metrics import EVENTS, HANDLING
from .settings import RuntimeSettings
from .tracing import consuming
from .uow import AlreadyProcessed, SessionGone, UnitOfWork, prior_state, unit_of_work

if TYPE_CHECKING:
    import asyncpg

log = structlog.get_logger(__name__)

#: Seconds one pull request waits for events, and before fetching again after an error.
FETCH_TIMEOUT_S = 5.0
FETCH_RETRY_S = 0.5


def create_broker(settings: RuntimeSettings, name: str) -> NatsBroker:
    """A FastStream NATS broker for ``settings.nats_url``.

    FastStream's per-message lines are logged at DEBUG, so at the usual INFO level they cost
    nothing on the hot path.
    """
    return NatsBroker(
        settings.nats_url,
        name=f"parley-{name}",
        log_level=logging.DEBUG,
        graceful_timeout=15.0,
        max_reconnect_attempts=-1,
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec) -> None:
    """Create the stream of ``spec``, or update it to ``spec`` if it exists (limits retention,
    file storage, de-duplication window)."""
    config = StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        duplicate_window=spec.duplicate_window_s,
        max_age=spec.max_age_s,
    )
    try:
        await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(config)
        log.info("stream created", stream=spec.name, subjects=list(spec.subjects))
    else:
        await js.update_stream(config)


class RetryLater(Exception):
    """The event cannot be handled yet (e.g. an earlier event of its session is missing).

    ``delay_s`` is how long to wait before the redelivery, in seconds.
    """

    def __init__(self, reason: str, delay_s: float = 0.5) -> None:
        super().__init__(reason)
        self.delay_s = delay_s


class Unprocessable(Exception):
    """The event can never be handled (bad data for this consumer): dead-letter it at once."""


@dataclass
class HandlerContext:
    """What a handler gets beside its event: the database, the bus and this delivery's facts."""

    consumer: str
    schema: str
    subjects: Subjects
    pool: asyncpg.Pool
    broker: NatsBroker
    delivery: int

    def unit_of_work(self, event: Event) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work that first marks ``event`` in this consumer's inbox.

        Raises:
            AlreadyProcessed: a redelivery whose effect is committed (the consumer acks it).
        """
        return unit_of_work(
            self.pool, self.subjects, self.schema, consumer=self.consumer, cause=event
        )

    def transaction(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work without an inbox mark (for steps before the final effect)."""
        return unit_of_work(self.pool, self.subjects, self.schema)


E = TypeVar("E", bound=Event)

EventHandler = Callable[[Any, HandlerContext], Awaitable[None]]
GiveUpHook = Callable[[Any, str, HandlerContext], Awaitable[None]]


def event_type_of(event_class: type[Event]) -> str:
    """The ``event_type`` (e.g. ``"message.created"``) of an event class.

    Raises:
        TypeError: ``event_class`` is not a concrete event (its ``event_type`` has no default).
    """
    field_info = event_class.model_fields.get("event_type")
    default = getattr(field_info, "default", None)
    if not isinstance(default, str):
        raise TypeError(f"{event_class.__name__} is not a concrete event class")
    return default


class Handlers:
    """A consumer's handlers, keyed by event class: ``Handlers().on(MessageCreated, handle)``.

    ``on`` ties each handler's parameter type to its event class, so a type checker sees a
    handler registered for the wrong event; the consumer filters its subjects on these classes
    and routes each delivery by its ``event_type``.
    """

    def __init__(self) -> None:
        self._by_type: dict[str, EventHandler] = {}
        self._prechecked: set[str] = set()

    def on(
        self,
        event_class: type[E],
        handler: Callable[[E, HandlerContext], Awaitable[None]],
        *,
        precheck: bool = False,
    ) -> Handlers:
        """Handle events of ``event_class`` with ``handler``; returns ``self`` for chaining.

        Every handler's effect is written in ``ctx.unit_of_work(event)``, whose inbox mark
        refuses a duplicate delivery or an event of a deleted session in the same statement.
        ``precheck=True`` is for a handler that works before that (calls an upstream AI, or
        reads state and raises ``RetryLater`` when an earlier event is missing, which a deleted
        session would make it do forever): then the chassis first checks both in a query of
        its own and settles such an event without running the handler.

        Raises:
            ValueError: ``event_class`` already has a handler.
        """
        event_type = event_type_of(event_class)
        if event_type in self._by_type:
            raise ValueError(f"{event_class.__name__} already has a handler")
        self._by_type[event_type] = handler
        if precheck:
            self._prechecked.add(event_type)
        return self

    def prechecked(self, event_type: str) -> bool:
        """Whether events of ``event_type`` are checked before their handler runs."""
        return event_type in self._prechecked

    def get(self, event_type: str) -> EventHandler | None:
        """The handler of ``event_type``, or None when this consumer does not handle it."""
        return self._by_type.get(event_type)

    @property
    def event_types(self) -> list[str]:
        """The event types handled, in registration order."""
        return list(self._by_type)


@dataclass
class ConsumerSpec:
    """A durable consumer: its name, its :class:`Handlers`, and an optional give-up hook.

    ``on_give_up(event, reason, ctx)`` runs before a valid event goes to the dead letters, so the
    service can record the failure (for example publish ``reply.failed``).
    """

    durable: str
    handlers: Handlers
    on_give_up: GiveUpHook | None = None


@dataclass
class EventConsumer:
    """Runs one :class:`ConsumerSpec` on the broker: validation, ordering, acks, dead letters."""

    spec: ConsumerSpec
    settings: RuntimeSettings
    schema: str
    pool_getter: Callable[[], asyncpg.Pool]
    broker: NatsBroker
    _queues: dict[uuid.UUID, deque[tuple[Msg, Event, EventHandler, asyncio.Task[None]]]] = field(
        default_factory=dict
    )
    _runners: dict[uuid.UUID, asyncio.Task[None]] = field(default_factory=dict)
    _subscription: JetStreamContext.PullSubscription | None = None
    _fetcher: asyncio.Task[None] | None = None
    _in_flight: int = 0
    _room: asyncio.Event = field(default_factory=asyncio.Event)
    _rejects: set[asyncio.Task[None]] = field(default_factory=set)
    _workers: asyncio.Semaphore | None = None
    _config: ConsumerConfig | None = None
    _stopping: bool = False

    @property
    def subjects(self) -> Subjects:
        """The subject builder of this consumer's prefix."""
        return Subjects(self.settings.prefix)

    def register(self) -> None:
        """Build the durable consumer's configuration (before the service connects)."""
        filters = [self.subjects.filter(t) for t in self.spec.handlers.event_types]
        self._config = ConsumerConfig(
            durable_name=self.spec.durable,
            ack_policy=JsAckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.settings.ack_wait_s,
            max_deliver=self._policy.server_max_deliver,
            max_ack_pending=1000,
            filter_subjects=filters,
        )

    async def ensure(self, js: JetStreamContext) -> None:
        """Create the durable, or update it to this configuration (filters, limits) when it
        exists: a changed consumer is applied at start, not silently ignored.

        Raises:
            nats.js.errors.Error: a change the server cannot apply (e.g. the deliver policy).
        """
        assert self._config is not None, "register() first"
        await js.add_consumer(self.settings.stream, self._config)

    async def start(self, js: JetStreamContext) -> None:
        """Bind to the durable and start pulling (after :meth:`ensure`)."""
        self._workers = asyncio.Semaphore(self.settings.max_workers)
        self._stopping = False
        self._room.set()
        self._subscription = await js.pull_subscribe_bind(
            durable=self.spec.durable, stream=self.settings.stream
        )
        self._fetcher = asyncio.create_task(self._pull(), name=f"{self.spec.durable}:pull")

    async def _pull(self) -> None:
        """Fetch batches of up to ``fetch_batch`` events while there is room for them (at most
        ``max_in_flight`` fetched and unsettled), and queue each on its session, in delivery
        order, before the next fetch.

        nats-py (2.16) ``fetch`` with ``batch > 1`` raises the builtin ``TimeoutError`` (not
        only its subclass ``nats.errors.TimeoutError``) when nothing arrived in time, so both
        are caught here as "nothing to do".
        """
        assert self._subscription is not None
        limit = self.settings.max_in_flight
        while not self._stopping:
            room = limit - self._in_flight
            if room <= 0:
                self._room.clear()
                await self._room.wait()
                continue
            try:
                msgs = await self._subscription.fetch(
                    batch=min(room, self.settings.fetch_batch), timeout=FETCH_TIMEOUT_S
                )
            except TimeoutError:
                continue
            except ConnectionClosedError:
                if self._stopping:
                    return
                await asyncio.sleep(FETCH_RETRY_S)
                continue
            except Exception as exc:  # a reconnect or a server hiccup: fetch again shortly
                log.warning("fetch failed", consumer=self.spec.durable, error=repr(exc))
                await asyncio.sleep(FETCH_RETRY_S)
                continue
            for msg in msgs:
                self.handle(msg)

    def handle(self, msg: Msg) -> None:
        """Validate one delivery and queue it behind the earlier events of its session.

        Each session with queued events has one runner task handling them one at a time, in
        delivery order; at most ``max_workers`` runners handle an event at once. While a
        delivery waits and while it is handled, it tells the server it is in progress every
        third of ``ack_wait``, so it is not redelivered elsewhere meanwhile. An event that does
        not validate goes to the dead letters.
        """
        try:
            event = parse_event(msg.data)
        except ValidationError as exc:
            self._track(self._reject(msg, f"invalid event: {exc.errors()[:3]}"))
            return
        handler = self.spec.handlers.get(event.event_type)
        if handler is None:
            self._track(msg.ack())
            return
        self._in_flight += 1
        heartbeat = asyncio.create_task(self._heartbeat(msg))
        self._queues.setdefault(event.session_id, deque()).append((msg, event, handler, heartbeat))
        if event.session_id not in self._runners:
            self._runners[event.session_id] = asyncio.create_task(
                self._run_session(event.session_id), name=f"{self.spec.durable}:{event.session_id}"
            )

    def _track(self, work: Awaitable[None]) -> None:
        """Run ``work`` (a settle outside any session runner) in a task :meth:`drain` awaits."""

        async def run() -> None:
            try:
                await work
            except Exception:  # unsettled: the server redelivers it after ack_wait
                log.exception("delivery could not be settled", consumer=self.spec.durable)

        task = asyncio.create_task(run())
        self._rejects.add(task)
        task.add_done_callback(self._rejects.discard)

    async def _reject(self, msg: Msg, reason: str) -> None:
        await self._dead_letter(msg, None, reason)
        await msg.term()
        EVENTS.labels(self.spec.durable, "invalid", "dead_lettered").inc()

    async def _run_session(self, session_id: uuid.UUID) -> None:
        """Handle the queued events of one session in order, then end. Cancelled (at shutdown),
        it leaves the rest unsettled: the server redelivers them."""
        assert self._workers is not None
        queue = self._queues[session_id]
        try:
            while queue:
                msg, event, handler, _ = queue[0]
                try:
                    async with self._workers:
                        with structlog.contextvars.bound_contextvars(
                            session_id=str(event.session_id),
                            event_id=str(event.event_id),
                            event_type=event.event_type,
                            consumer=self.spec.durable,
                        ):
                            await self._run(handler, event, msg, msg.metadata.num_delivered or 1)
                except Exception:  # unsettled: the server redelivers it after ack_wait
                    log.exception("event could not be settled", event_id=str(event.event_id))
                finally:
                    self._release(queue.popleft())
        finally:
            while queue:  # only when cancelled
                self._release(queue.popleft())
            # No await since the last check: a new event of this session starts a new runner.
            del self._queues[session_id]
            del self._runners[session_id]

    def _release(self, queued: tuple[Msg, Event, EventHandler, asyncio.Task[None]]) -> None:
        queued[3].cancel()  # its heartbeat
        self._in_flight -= 1
        self._room.set()

    async def drain(self, timeout_s: float = 15.0) -> None:
        """Stop fetching, let the session runners finish (their acks need the connection: call
        this before closing it), and cancel what is left, whose events the server redelivers."""
        self._stopping = True
        if self._fetcher is not None:
            self._fetcher.cancel()
            # A fetch cancelled on a closed connection raises ConnectionClosedError instead.
            await asyncio.gather(self._fetcher, return_exceptions=True)
            self._fetcher = None
        if self._rejects:
            await asyncio.wait(list(self._rejects), timeout=timeout_s)
        runners = list(self._runners.values())
        if runners:
            _, pending = await asyncio.wait(runners, timeout=timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
            self._subscription = None

    async def _heartbeat(self, msg: Msg) -> None:
        while True:
            await asyncio.sleep(self.settings.ack_wait_s / 3)
            try:
                await msg.in_progress()
            except Exception:  # the settle that follows reports real trouble
                return

    async def _run(self, handler: EventHandler, event: Event, msg: Msg, delivery: int) -> None:
        """Handle one delivery, then apply the step of the delivery policy to it."""
        ctx = HandlerContext(
            consumer=self.spec.durable,
            schema=self.schema,
            subjects=self.subjects,
            pool=self.pool_getter(),
            broker=self.broker,
            delivery=delivery,
        )
        started = time.perf_counter()
        with consuming(
            service=self.schema,
            consumer=self.spec.durable,
            subject=msg.subject,
            event_type=event.event_type,
            event_id=str(event.event_id),
            session_id=str(event.session_id),
            headers=msg.headers,
        ) as span:
            outcome = await self._outcome(handler, event, ctx)
            span.set_attribute("parley.outcome", type(outcome).__name__)
        waits = await self._waits(ctx, event) if needs_waits(outcome) else 0
        step = next_step(outcome, delivery, waits, self._policy)
        try:
            await self._apply(step, outcome, event, msg, ctx)
        finally:
            EVENTS.labels(self.spec.durable, event.event_type, step.label).inc()
            HANDLING.labels(self.spec.durable, event.event_type).observe(
                time.perf_counter() - started
            )

    async def _outcome(self, handler: EventHandler, event: Event, ctx: HandlerContext) -> Outcome:
        """Run the pre-check and the handler; what happened, as a value."""
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
            # The traceback once, on the delivery that is the last try when nothing waited.
            log.warning(
                "event failed",
                error=f"{type(exc).__name__}: {exc}",
                delivery=ctx.delivery,
                exc_info=ctx.delivery >= self.settings.max_deliver,
            )
            return Failed(f"{type(exc).__name__}: {exc}")
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

    @property
    def _policy(self) -> DeliveryPolicy:
        """The delivery policy of these settings."""
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
                last = self._policy.is_last(msg.metadata.num_delivered or 1)
                log.exception("give-up hook failed", dead_letter_now=last)
                if not last:
                    await msg.nak(delay=self._policy.backoff(len(self.settings.backoff_s)))
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


__all__ = [
    "ConsumerSpec",
    "Handlers",
    "EventConsumer",
    "EventHandler",
    "HandlerContext",
    "RetryLater",
    "UnitOfWork",
    "Unprocessable",
    "create_broker",
    "ensure_stream",
]
