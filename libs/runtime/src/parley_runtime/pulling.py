"""Continuous pulling from a durable JetStream pull consumer.

nats-py (2.x) pulls with ``PullSubscription.fetch`` alone: each call first sends a ``no_wait``
request and, when nothing is waiting, a second one that waits, and returns with the first
message. An idle consumer thus costs two pull requests and a status reply per message. The
:class:`Puller` keeps pull requests outstanding instead, the way the JetStream clients'
``consume`` does (JetStream pull protocol: nats-io/nats-architecture-and-design, ADR-13):

- a request asks for up to ``batch`` messages (``$JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>``,
  replies to this puller's inbox), lives :data:`REQUEST_EXPIRES_S` seconds and has the server
  send an idle heartbeat every :data:`IDLE_HEARTBEAT_S` seconds while it waits;
- the puller counts the messages asked for and not yet delivered (``pending``): each delivery
  takes one off, a ``408`` (request expired) takes off what it says was left
  (``Nats-Pending-Messages``); when ``pending`` falls to half a batch and there is room, it asks
  for more, so at most ``room`` messages are ever asked for or unsettled;
- when no heartbeat or message came for two heartbeats, or the connection reconnected, or the
  server answered ``409`` (say, the consumer was re-created), the requests are counted as lost
  and new ones are sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

log = structlog.get_logger(__name__)

#: Seconds a pull request stays open on the server.
REQUEST_EXPIRES_S = 30.0
#: Seconds between the server's heartbeats while a request waits; two missed mean it is lost.
IDLE_HEARTBEAT_S = 5.0
#: Seconds before asking again after a request could not be sent or the server ended them.
RETRY_S = 0.5
#: The JetStream API subject of a pull request.
NEXT_SUBJECT = "$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"


@dataclass
class Puller:
    """Keeps pull requests outstanding on ``durable`` of ``stream`` through ``nc`` and hands
    each delivered message to ``deliver`` (status messages are its own).

    ``room()`` says how many more messages may be taken now (the consumer's bound on unsettled
    messages minus those it holds); call :meth:`wake` when it grows. ``batch`` is the most
    messages one request asks for.
    """

    nc: NatsClient
    stream: str
    durable: str
    batch: int
    room: Callable[[], int]
    deliver: Callable[[Msg], None]
    pending: int = 0
    _subscription: Subscription | None = None
    _task: asyncio.Task[None] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _heard_at: float = 0.0
    _reconnects: int = 0
    _refused: bool = False

    async def start(self) -> None:
        """Subscribe to a fresh inbox and start asking for messages."""
        inbox = self.nc.new_inbox()
        self._subscription = await self.nc.subscribe(inbox, cb=self._on_message)
        self._reconnects = self.nc.stats["reconnects"]
        self._task = asyncio.create_task(self._run(inbox), name=f"{self.durable}:pull")

    async def stop(self) -> None:
        """Stop asking and unsubscribe; messages already asked for and not delivered yet are
        redelivered by the server after ``ack_wait``."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
            self._subscription = None

    def wake(self) -> None:
        """Say that there may be room for more messages."""
        self._wake.set()

    async def _on_message(self, msg: Msg) -> None:
        self._heard_at = time.monotonic()
        status = msg.headers.get("Status") if msg.headers else None
        if status is None:
            self.pending = max(0, self.pending - 1)
            self.deliver(msg)
            if self.pending <= self.batch // 2:
                self._wake.set()  # time to ask for more
            return
        if status == "408":  # a request expired: what it still asked for will not come
            left = int(msg.headers.get("Nats-Pending-Messages", "0") or 0)  # type: ignore[union-attr]
            self.pending = max(0, self.pending - left)
        elif status != "100":  # 100 is an idle heartbeat; 409 and others end the requests
            log.info(
                "pull requests ended by the server",
                durable=self.durable,
                status=status,
                description=msg.headers.get("Description"),  # type: ignore[union-attr]
            )
            self.pending = 0
            self._refused = True
        self._wake.set()

    async def _run(self, inbox: str) -> None:
        subject = NEXT_SUBJECT.format(stream=self.stream, durable=self.durable)
        while True:
            if self._refused:  # do not ask again at once what the server just ended
                self._refused = False
                await asyncio.sleep(RETRY_S)
            self._wake.clear()
            self._check_alive()
            room = self.room() - self.pending
            if room > 0 and self.pending <= self.batch // 2:
                ask = min(self.batch, room)
                request = {
                    "batch": ask,
                    "expires": int(REQUEST_EXPIRES_S * 1e9),
                    "idle_heartbeat": int(IDLE_HEARTBEAT_S * 1e9),
                }
                try:
                    await self.nc.publish(subject, json.dumps(request).encode(), reply=inbox)
                except Exception as exc:  # closed or reconnecting: ask again shortly
                    log.warning("pull request failed", durable=self.durable, error=repr(exc))
                    await asyncio.sleep(RETRY_S)
                    continue
                if self.pending == 0:
                    self._heard_at = time.monotonic()
                self.pending += ask
            # asyncio.timeout, not wait_for: wait_for (3.11) can swallow a cancellation that
            # comes as the event is set, and stop() would wait for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(IDLE_HEARTBEAT_S):
                    await self._wake.wait()

    def _check_alive(self) -> None:
        """Count the outstanding requests as lost after a reconnect or two missed heartbeats."""
        reconnects = self.nc.stats["reconnects"]
        silent = time.monotonic() - self._heard_at > 2 * IDLE_HEARTBEAT_S
        if self.pending and (reconnects != self._reconnects or silent):
            log.info(
                "pull requests lost; asking again",
                durable=self.durable,
                reconnected=reconnects != self._reconnects,
            )
            self.pending = 0
        self._reconnects = reconnects
