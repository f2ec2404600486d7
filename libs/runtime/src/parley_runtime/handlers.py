"""What a service writes to handle events: handlers registered by event class, the context
they get, and the exceptions that tell the bus what to do with a delivery.

A handler is ``async def handle(event: SomeEvent, ctx: HandlerContext) -> None``. Returning
acks the event; :class:`RetryLater` redelivers it after a delay without spending the failure
budget; :class:`Unprocessable` dead-letters it at once; any other exception is a failure,
redelivered with backoff (see :mod:`parley_runtime.delivery`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from faststream.nats import NatsBroker
from parley_contracts import Event, Subjects

from .uow import Handoff, UnitOfWork, joined_unit_of_work, unit_of_work

if TYPE_CHECKING:
    import asyncpg


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
    """What a handler gets beside its event: the database, the bus and this delivery's facts.

    ``batch`` is set when the event is handled in a batch (see :mod:`parley_runtime.batching`):
    the batch's unit of work, on its open transaction, which already marked the event in the
    inbox. The event's units of work then join it: they run on its connection and hand it their
    outbox rows and notifications, which it writes for the whole batch in one statement.
    ``handoff`` is the service's outbox relay's (see :class:`~parley_runtime.uow.UnitOfWork`).
    """

    consumer: str
    schema: str
    subjects: Subjects
    pool: asyncpg.Pool
    broker: NatsBroker
    delivery: int
    batch: UnitOfWork | None = None
    handoff: Handoff | None = None

    def unit_of_work(
        self,
        event: Event,
        *,
        late_mark: bool = False,
        optimistic: bool = False,
        on: asyncpg.Connection | None = None,
    ) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work that first marks ``event`` in this consumer's inbox (``late_mark``:
        in its last statement instead, one round trip fewer, for a handler that read whether
        the event is a duplicate or of a deleted session before, or did nothing with an effect
        outside the transaction; see
        :func:`~parley_runtime.uow.unit_of_work`). ``optimistic``: without a transaction, its
        one write and the inbox mark in its last statement (see
        :class:`~parley_runtime.UnitOfWork`). ``on``: on that connection, which the handler
        holds, not one of the pool. In a batch the batch marked it already (and its
        transaction holds the unit, optimistic or not, on the batch's connection).

        Raises:
            AlreadyProcessed: a redelivery whose effect is committed (the consumer acks it).
            SessionGone: the event's session was deleted (nothing is written).
            WriteConflict: an optimistic unit's guarded write found its row changed.
        """
        if self.batch is not None:
            return self.transaction()
        return unit_of_work(
            self.pool, self.subjects, self.schema,
            consumer=self.consumer, cause=event, late_mark=late_mark, handoff=self.handoff,
            optimistic=optimistic, on=on,
        )  # fmt: skip

    def transaction(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work without an inbox mark (for steps before the final effect)."""
        if self.batch is not None:
            return joined_unit_of_work(self.batch.conn, self.subjects, self.schema, into=self.batch)
        return unit_of_work(self.pool, self.subjects, self.schema, handoff=self.handoff)


E = TypeVar("E", bound=Event)


def _always(_: Event) -> bool:
    return True


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
        self._batched: dict[str, Callable[[Any], bool]] = {}

    def on(
        self,
        event_class: type[E],
        handler: Callable[[E, HandlerContext], Awaitable[None]],
        *,
        precheck: bool = False,
        batch: bool | Callable[[E], bool] = False,
    ) -> Handlers:
        """Handle events of ``event_class`` with ``handler``; returns ``self`` for chaining.

        Every handler's effect is written in ``ctx.unit_of_work(event)``, whose inbox mark
        refuses a duplicate delivery or an event of a deleted session in the same statement.
        ``precheck=True`` is for a handler that works before that (calls an upstream AI, or
        reads state and raises ``RetryLater`` when an earlier event is missing, which a deleted
        session would make it do forever): then the chassis first checks both in a query of
        its own and settles such an event without running the handler.

        ``batch=True`` is for a handler whose only work is its one unit of work (no reads
        outside it, no effect outside the database, nothing slow): events of different
        sessions handled by such handlers then share one transaction (see
        :mod:`parley_runtime.batching`). ``batch`` may instead be a predicate of the event,
        for a handler that is such a handler for some events only (say, after a session's
        first turn); it is asked once per delivery, just before the event is handled.

        Raises:
            ValueError: ``event_class`` already has a handler, or both ``precheck`` and
                ``batch`` are asked (a handler that works before its unit of work cannot hold a
                batch's transaction open).
        """
        event_type = event_type_of(event_class)
        if event_type in self._by_type:
            raise ValueError(f"{event_class.__name__} already has a handler")
        if precheck and batch:
            raise ValueError(f"{event_class.__name__}: a prechecked handler cannot be batched")
        self._by_type[event_type] = handler
        if precheck:
            self._prechecked.add(event_type)
        if batch is True:
            self._batched[event_type] = _always
        elif callable(batch):
            self._batched[event_type] = batch
        return self

    def prechecked(self, event_type: str) -> bool:
        """Whether events of ``event_type`` are checked before their handler runs."""
        return event_type in self._prechecked

    def batched(self, event: Event) -> bool:
        """Whether ``event`` may share a transaction with other sessions' events."""
        batchable = self._batched.get(event.event_type)
        return batchable is not None and batchable(event)

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
