"""A batch of events in one transaction.

Events whose handlers allow it (``Handlers.on(..., batch=True)``) and that are ready at the same
moment share one PostgreSQL transaction: one ``BEGIN``, one statement that marks them all in the
inbox, one that writes all their outbox rows and notifications, and one ``COMMIT`` (one WAL
flush) for up to ``max_batch_events`` events instead of one each. Each event keeps its own inbox
mark, outbox events and outcome. Per-session order holds: a session's runner submits its next
event only once the previous one is settled, so a batch holds at most one event of a session.

When an event of a batch fails (any error, ``RetryLater`` or ``Unprocessable``), the whole
transaction rolls back and each of its events is handled again alone, in its own transaction,
as if it had never been batched: one bad event costs the others a second try, never their
effect. A duplicate delivery or an event of a deleted session is settled inside the batch: the
marking statement tells, and its handler does not run. Events are handled in session-id order,
so two batches running at once (two replicas) lock their sessions' rows in the same order; a
deadlock on other rows (say two users' counters) is broken by PostgreSQL and only sends a batch
down the one-by-one path.

Each event runs in the context (structlog variables, trace span) of the task that submitted it,
so its logs and its outbox events name its own session and trace.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from parley_contracts import Event

from .delivery import Dropped, Duplicate, Handled, Outcome
from .handlers import EventHandler, HandlerContext
from .inbox import Standing, mark_all
from .metrics import BATCHES, child
from .refusals import AlreadyProcessed, SessionGone
from .uow import UnitOfWork

log = structlog.get_logger(__name__)

#: Handles one event in a transaction of its own and says what happened (never raises).
HandleAlone = Callable[[EventHandler, Event, HandlerContext], Coroutine[Any, Any, Outcome]]
#: Marks events in a consumer's inbox on a connection's open transaction (:func:`mark_all`).
MarkAll = Callable[[Any, str, Sequence[Event]], Awaitable[list[Standing]]]


@dataclass
class _Request:
    handler: EventHandler
    event: Event
    ctx: HandlerContext
    context: contextvars.Context
    outcome: asyncio.Future[Outcome]


@dataclass
class TransactionBatcher:
    """Gathers the batchable events of one consumer that are ready together and handles them in
    one transaction; ``alone`` handles an event by itself (the path without batching).

    ``max_events`` is the most events per transaction (1 turns batching off); ``mark`` marks a
    batch's events in the inbox at its start.
    """

    consumer: str
    alone: HandleAlone
    max_events: int
    mark: MarkAll = mark_all
    _pending: list[_Request] = field(default_factory=list)
    _flusher: asyncio.Task[None] | None = None

    async def submit(self, handler: EventHandler, event: Event, ctx: HandlerContext) -> Outcome:
        """Handle ``event`` in the next batch and return its outcome once that batch committed
        (or once it was handled alone, after a batch that rolled back)."""
        if self.max_events <= 1:
            return await self.alone(handler, event, ctx)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append(_Request(handler, event, ctx, contextvars.copy_context(), future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name=f"{self.consumer}:batch")
        return await future

    async def _flush(self) -> None:
        """Run batches until nothing is pending. The first pause lets every runner woken by the
        same fetch submit its event before the first batch is cut."""
        try:
            await asyncio.sleep(0)
            while self._pending:
                batch = self._pending[: self.max_events]
                del self._pending[: self.max_events]
                await self._run(batch)
        finally:
            self._flusher = None
            for request in self._pending:  # only when cancelled: nothing will run them
                request.outcome.cancel()
            self._pending.clear()

    async def _run(self, batch: list[_Request]) -> None:
        """Handle ``batch`` in one transaction; on any failure, each of its events alone. A
        batch of one event is handled alone at once: a transaction of its own costs no more,
        and a handler whose unit of work is optimistic then needs none."""
        batch.sort(key=lambda request: request.event.session_id)
        try:
            if len(batch) == 1:
                outcomes = await self._each_alone(batch)
            else:
                try:
                    outcomes = await self._together(batch)
                except Exception as exc:
                    log.info(
                        "batch rolled back; its events are handled one by one",
                        consumer=self.consumer,
                        events=len(batch),
                        error=f"{type(exc).__name__}: {exc}"[:300],
                    )
                    outcomes = await self._each_alone(batch)
                else:
                    child(BATCHES, self.consumer).observe(len(batch))
            for request, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    request.outcome.set_exception(outcome)
                else:
                    request.outcome.set_result(outcome)
        finally:
            for request in batch:  # cancelled midway: the submitters must not wait forever
                if not request.outcome.done():
                    request.outcome.cancel()

    async def _each_alone(self, batch: list[_Request]) -> list[Outcome | BaseException]:
        """Handle each event of ``batch`` alone, at once, in its submitter's context."""
        return await asyncio.gather(
            *(self._in_context(r, self.alone(r.handler, r.event, r.ctx)) for r in batch),
            return_exceptions=True,
        )

    async def _together(self, batch: list[_Request]) -> list[Outcome]:
        """Run every handler of ``batch`` in one transaction and commit it.

        Raises:
            Exception: whatever a handler or the database raised (the transaction rolled back).
        """
        outcomes: list[Outcome] = []
        first = batch[0].ctx
        async with first.pool.acquire() as conn, conn.transaction():
            shared = UnitOfWork(
                conn=conn, subjects=first.subjects, schema=first.schema, handoff=first.handoff
            )
            standings = await self.mark(conn, first.consumer, [r.event for r in batch])
            for request, standing in zip(batch, standings, strict=True):
                if standing is Standing.DUPLICATE:
                    outcomes.append(Duplicate())
                elif standing is Standing.GONE:
                    outcomes.append(Dropped())
                else:
                    outcomes.append(await self._in_context(request, self._joined(request, shared)))
            await shared.flush()
        shared.committed()
        return outcomes

    @staticmethod
    async def _joined(request: _Request, batch: UnitOfWork) -> Outcome:
        """Run one handler, already marked in the inbox, with its units of work joined to
        ``batch``, the batch's (see :class:`~parley_runtime.handlers.HandlerContext`)."""
        ctx = dataclasses.replace(request.ctx, batch=batch)
        try:
            await request.handler(request.event, ctx)
        except AlreadyProcessed:
            return Duplicate()
        except SessionGone:
            return Dropped()
        return Handled()

    @staticmethod
    async def _in_context(request: _Request, work: Coroutine[Any, Any, Outcome]) -> Outcome:
        """Run ``work`` in the context its event was submitted from."""
        return await asyncio.create_task(work, context=request.context)
