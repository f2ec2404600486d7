"""Waiting for a reply: one iterator merging notification, live deltas and re-reads (no
servers: the notification is a future, the deltas a queue, the store a function)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from parley_contracts import ReplyDelta
from parley_gateway.adapters import reply_watch
from parley_gateway.adapters.notifications import ReplyWaiters
from parley_gateway.adapters.reply_watch import Watch
from parley_gateway.domain.messages import Message
from parley_gateway.domain.ports import ReplyOutcome

SESSION = uuid.uuid4()


class Store:
    """Where one message stands; ``answer()`` stores its reply."""

    def __init__(self) -> None:
        self.message = Message.from_user(uuid.uuid4(), SESSION, "q")
        self.reply: Message | None = None
        self.reads = 0

    async def read(self, _: uuid.UUID) -> ReplyOutcome:
        self.reads += 1
        return ReplyOutcome(self.message, self.reply)

    def answer(self) -> None:
        self.reply = Message.reply(uuid.uuid4(), SESSION, self.message.id, "a")
        self.message.answer(self.reply)


async def _collect(watch: Watch, timeout_s: float) -> list[ReplyDelta | ReplyOutcome]:
    return [update async for update in watch.updates(timeout_s)]


async def test_deltas_come_in_order_then_the_settled_outcome() -> None:
    store, waiters = Store(), ReplyWaiters()
    deltas: asyncio.Queue[ReplyDelta] = asyncio.Queue()
    with waiters.waiting(store.message.id) as notified:
        watch = Watch(store.message.id, store.read, notified, deltas)
        task = asyncio.create_task(_collect(watch, 5))
        for i, text in enumerate(["Hel", "lo"]):
            deltas.put_nowait(ReplyDelta(reply_to=store.message.id, index=i, text=text))
            await asyncio.sleep(0.01)
        store.answer()
        waiters.on_notify(None, 0, "gateway_replies", str(store.message.id))
        updates = await asyncio.wait_for(task, 1)
    assert [u.text for u in updates[:-1]] == ["Hel", "lo"]  # type: ignore[union-attr]
    outcome = updates[-1]
    assert isinstance(outcome, ReplyOutcome) and outcome.settled
    assert outcome.message.status == "answered"


async def test_a_notification_wakes_the_wait_at_once() -> None:
    store, waiters = Store(), ReplyWaiters()
    with waiters.waiting(store.message.id) as notified:
        task = asyncio.create_task(
            _collect(Watch(store.message.id, store.read, notified, None), 30)
        )
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        store.answer()
        waiters.on_notify(None, 0, "gateway_replies", str(store.message.id))
        [outcome] = await task
    assert time.perf_counter() - started < 0.2
    assert isinstance(outcome, ReplyOutcome) and outcome.reply is not None


async def test_a_reply_announced_before_a_known_start_is_read_at_once() -> None:
    """A watch started from a known pending outcome whose reply was announced in between
    (a fast reply) reads at once: it does not wait for the re-check."""
    store, waiters = Store(), ReplyWaiters()
    with waiters.waiting(store.message.id) as notified:
        watch = Watch(store.message.id, store.read, notified, None)
        watch.starts_from(ReplyOutcome(store.message, None))
        store.answer()
        waiters.on_notify(None, 0, "gateway_replies", str(store.message.id))
        started = time.perf_counter()
        [outcome] = await asyncio.wait_for(_collect(watch, 30), 0.5)
    assert time.perf_counter() - started < 0.2 and store.reads == 1
    assert isinstance(outcome, ReplyOutcome) and outcome.settled


@pytest.mark.parametrize("told", [False, True])
async def test_a_known_start_saves_the_first_read(told: bool) -> None:
    """Woken by the notification, the watch reads the outcome once; told it by this replica
    (which stored the reply, after the commit), it reads nothing, and the notification that
    follows finds no waiter."""
    store, waiters = Store(), ReplyWaiters()
    with waiters.waiting(store.message.id) as notified:
        watch = Watch(store.message.id, store.read, notified, None)
        watch.starts_from(ReplyOutcome(store.message, None))
        task = asyncio.create_task(_collect(watch, 30))
        await asyncio.sleep(0.02)
        assert store.reads == 0
        store.answer()
        if told:
            waiters.settle(store.message.id, ReplyOutcome(store.message, store.reply))
        waiters.on_notify(None, 0, "gateway_replies", str(store.message.id))
        [outcome] = await asyncio.wait_for(task, 0.5)
    assert store.reads == (0 if told else 1)
    assert isinstance(outcome, ReplyOutcome) and outcome.settled and outcome.reply == store.reply


async def test_an_outcome_told_before_the_watch_starts_needs_no_read() -> None:
    fast, waiters = Store(), ReplyWaiters()
    with waiters.waiting(fast.message.id) as notified:  # told before the watch starts
        watch = Watch(fast.message.id, fast.read, notified, None)
        watch.starts_from(ReplyOutcome(fast.message, None))
        fast.answer()
        waiters.settle(fast.message.id, ReplyOutcome(fast.message, fast.reply))
        [outcome] = await asyncio.wait_for(_collect(watch, 30), 0.5)
    assert fast.reads == 0 and isinstance(outcome, ReplyOutcome) and outcome.settled


async def test_a_lost_notification_is_covered_by_the_re_read(monkeypatch) -> None:
    monkeypatch.setattr(reply_watch, "RECHECK_S", 0.05)
    store, waiters = Store(), ReplyWaiters()
    with waiters.waiting(store.message.id) as notified:
        task = asyncio.create_task(
            _collect(Watch(store.message.id, store.read, notified, None), 30)
        )
        await asyncio.sleep(0.02)
        store.answer()  # stored, but no notification arrives
        [outcome] = await asyncio.wait_for(task, 1)
    assert isinstance(outcome, ReplyOutcome) and outcome.settled and store.reads >= 2


async def test_no_reply_within_the_timeout_gives_the_message_as_it_stands() -> None:
    store, waiters = Store(), ReplyWaiters()
    with waiters.waiting(store.message.id) as notified:
        started = time.perf_counter()
        [outcome] = await _collect(Watch(store.message.id, store.read, notified, None), 0.1)
    assert 0.1 <= time.perf_counter() - started < 0.5
    assert isinstance(outcome, ReplyOutcome) and not outcome.settled


async def test_leaving_the_wait_unregisters_it() -> None:
    waiters = ReplyWaiters()
    message_id = uuid.uuid4()
    with waiters.waiting(message_id) as notified:
        assert waiters._waiting
    assert not waiters._waiting and notified.cancelled()


async def test_closing_the_waiters_answers_every_wait_at_once_with_the_message_as_it_stands() -> (
    None
):
    store, waiters = Store(), ReplyWaiters()
    with waiters.waiting(store.message.id) as notified:
        watch = Watch(store.message.id, store.read, notified, None, lambda: waiters.closed)
        task = asyncio.create_task(_collect(watch, 30))
        await asyncio.sleep(0.05)
        assert not task.done()
        started = time.monotonic()
        waiters.close()  # the gateway begins to shut down
        [outcome] = await asyncio.wait_for(task, 1)
    assert time.monotonic() - started < 0.5
    assert isinstance(outcome, ReplyOutcome) and not outcome.settled and outcome.reply is None
    with waiters.waiting(store.message.id) as notified:  # a wait that starts after the close
        late = Watch(store.message.id, store.read, notified, None, lambda: waiters.closed)
        [outcome] = await asyncio.wait_for(_collect(late, 30), 1)
    assert outcome.message.status == "pending"


async def test_a_replica_passes_over_its_own_announcement_of_an_outcome_it_tells() -> None:
    store, waiters, other = Store(), ReplyWaiters(), ReplyWaiters()
    with waiters.waiting(store.message.id) as notified:
        own = waiters.announcement(store.message.id)
        waiters.on_notify(None, 0, "gateway_replies", own)
        assert not notified.done()  # its settle() comes right after the commit
        waiters.on_notify(None, 0, "gateway_replies", other.announcement(store.message.id))
        assert notified.done() and notified.result() is None  # another replica's: read it
    with waiters.waiting(store.message.id) as notified:
        waiters.on_notify(None, 0, "gateway_replies", str(store.message.id))
        assert notified.done() and notified.result() is None
