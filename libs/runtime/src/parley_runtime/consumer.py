"""The event consumer: one durable JetStream pull consumer per service.

It keeps pull requests outstanding on the broker's connection
(:class:`~parley_runtime.pulling.Puller`), validates each delivery against its contract, queues
it behind the earlier events of its session (one runner task per session: sessions in
parallel, each in order), keeps it alive with ``in_progress`` while it waits and while it is
handled (one task for every delivery in flight), and hands it to
:class:`~parley_runtime.settlement.Settler`, which handles and settles it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy
from parley_contracts import Event, Subjects, parse_event
from pydantic import ValidationError
from structlog.contextvars import bind_contextvars as bind

from .handlers import ConsumerSpec, EventHandler, HandlerContext
from .pulling import Puller
from .settings import RuntimeSettings
from .settlement import Settler
from .uow import Handoff

if TYPE_CHECKING:
    import asyncpg

log = structlog.get_logger(__name__)


@dataclass
class EventConsumer:
    """Runs one :class:`ConsumerSpec` on the broker: validation, ordering, acks, dead letters."""

    spec: ConsumerSpec
    settings: RuntimeSettings
    schema: str
    pool_getter: Callable[[], asyncpg.Pool]
    broker: NatsBroker
    handoff_getter: Callable[[], Handoff | None] = lambda: None
    _queues: dict[uuid.UUID, deque[tuple[Msg, Event, EventHandler]]] = field(default_factory=dict)
    #: Deliveries in flight, by ``id()``: the message and when it last showed life (loop time).
    _alive: dict[int, tuple[Msg, float]] = field(default_factory=dict)
    _keeper: asyncio.Task[None] | None = None
    _runners: dict[uuid.UUID, asyncio.Task[None]] = field(default_factory=dict)
    _puller: Puller | None = None
    _in_flight: int = 0
    _rejects: set[asyncio.Task[None]] = field(default_factory=set)
    _workers: asyncio.Semaphore | None = None
    _config: ConsumerConfig | None = None
    _stopping: bool = False
    _settler: Settler = field(init=False)

    def __post_init__(self) -> None:
        self._settler = Settler(self.spec, self.settings, self.subjects, self.broker)

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
            max_deliver=self._settler.policy.server_max_deliver,
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

    async def start(self) -> None:
        """Start pulling from the durable (after :meth:`ensure`), on the broker's connection."""
        self._workers = asyncio.Semaphore(self.settings.max_workers)
        self._stopping = False
        self._puller = Puller(
            nc=self.broker.connection,
            stream=self.settings.stream,
            durable=self.spec.durable,
            batch=self.settings.fetch_batch,
            room=lambda: self.settings.max_in_flight - self._in_flight,
            deliver=self.handle,
        )
        await self._puller.start()
        self._keeper = asyncio.create_task(self._keep_alive(), name=f"{self.spec.durable}:alive")

    def handle(self, msg: Msg) -> None:
        """Validate one delivery and queue it behind the earlier events of its session.

        Each session with queued events has one runner task handling them one at a time, in
        delivery order; at most ``max_workers`` runners handle an event at once. While a
        delivery waits and while it is handled, the server is told it is in progress at least
        every third of ``ack_wait`` (:meth:`_keep_alive`), so it is not
        redelivered elsewhere meanwhile. An event that does not validate goes to the dead
        letters.
        """
        if self._stopping:  # delivered after drain began: hand it back at once
            self._track(msg.nak())
            return
        try:
            event = parse_event(msg.data)
        except ValidationError as exc:
            self._track(self._settler.reject(msg, f"invalid event: {exc.errors()[:3]}"))
            return
        handler = self.spec.handlers.get(event.event_type)
        if handler is None:
            self._track(msg.ack())
            return
        self._in_flight += 1
        self._alive[id(msg)] = (msg, asyncio.get_running_loop().time())
        self._queues.setdefault(event.session_id, deque()).append((msg, event, handler))
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

    async def _run_session(self, session_id: uuid.UUID) -> None:
        """Handle the queued events of one session in order, then end. Cancelled (at shutdown),
        it hands the events it had not started back to the server at once (``nak``), so another
        instance gets them now rather than after ``ack_wait``; the one it was handling is left
        unsettled and redelivered after ``ack_wait``."""
        assert self._workers is not None
        queue = self._queues[session_id]
        # Log context of this task alone (its own copy of the context): bound once for the
        # session, and per event below, never reset (the task ends with its queue).
        bind(session_id=str(session_id), consumer=self.spec.durable)
        try:
            while queue:
                msg, event, handler = queue[0]
                # A batched event waits for its batch, not for a worker: the batch is the
                # bound (one connection for up to max_batch_events events).
                batched = self.spec.handlers.batched(event)
                bind(event_id=str(event.event_id), event_type=event.event_type)
                try:
                    async with contextlib.nullcontext() if batched else self._workers:
                        await self._run(handler, event, msg, msg.metadata.num_delivered or 1)
                except Exception:  # unsettled: the server redelivers it after ack_wait
                    log.exception("event could not be settled", event_id=str(event.event_id))
                finally:
                    self._release(queue.popleft())
        finally:
            while queue:  # only when cancelled: never started, so safe to hand back now
                queued = queue.popleft()
                bind(event_id=str(queued[1].event_id), event_type=queued[1].event_type)
                self._track(queued[0].nak())  # its task logs with this event's ids
                self._release(queued)
            # No await since the last check: a new event of this session starts a new runner.
            del self._queues[session_id]
            del self._runners[session_id]

    def _release(self, queued: tuple[Msg, Event, EventHandler]) -> None:
        del self._alive[id(queued[0])]
        self._in_flight -= 1
        if self._puller is not None:
            self._puller.wake()

    async def drain(self, timeout_s: float = 15.0) -> None:
        """Stop fetching, let the session runners finish (their acks need the connection: call
        this before closing it), and cancel what is left after ``timeout_s`` seconds (the events
        not yet started are handed back to the server at once)."""
        self._stopping = True
        if self._puller is not None:
            await self._puller.stop()
            self._puller = None
        if self._rejects:
            await asyncio.wait(list(self._rejects), timeout=timeout_s)
        runners = list(self._runners.values())
        if runners:
            _, pending = await asyncio.wait(runners, timeout=timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._rejects:  # the events handed back by cancelled runners
            await asyncio.wait(list(self._rejects), timeout=timeout_s)
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
            self._keeper = None

    async def _keep_alive(self) -> None:
        """Every sixth of ``ack_wait``, tell the server that each delivery in flight (queued
        or being handled) that showed no life for as long is in progress (``+WPI``), so it is
        not redelivered elsewhere meanwhile (it hears of it at least every third of
        ``ack_wait``): one task for all of them, not a timer per delivery."""
        loop = asyncio.get_running_loop()
        quiet_s = self.settings.ack_wait_s / 6
        while True:
            await asyncio.sleep(quiet_s)
            now = loop.time()
            due = [msg for msg, since in self._alive.values() if now - since >= quiet_s]
            for msg in due:
                if id(msg) not in self._alive:
                    continue  # settled meanwhile
                self._alive[id(msg)] = (msg, now)
                try:
                    await msg.in_progress()
                except Exception:  # the settle that follows reports real trouble
                    continue

    async def _run(self, handler: EventHandler, event: Event, msg: Msg, delivery: int) -> None:
        """Handle and settle one delivery in a fresh :class:`HandlerContext`."""
        ctx = HandlerContext(
            consumer=self.spec.durable,
            schema=self.schema,
            subjects=self.subjects,
            pool=self.pool_getter(),
            broker=self.broker,
            delivery=delivery,
            handoff=self.handoff_getter(),
        )
        await self._settler.run(handler, event, msg, ctx)
