"""The delivery policy: what a consumer does with an event after one delivery was handled.

Pure functions and values, no I/O: :func:`next_step` maps the outcome of a handling
(:class:`Handled`, :class:`Duplicate`, :class:`Dropped`, :class:`NotReady`,
:class:`Unavailable`, :class:`Rejected`, :class:`Failed`), the delivery count and the deliveries
spent waiting or in an outage to one step: :class:`Ack`, :class:`Nak` (redeliver after a
delay) or :class:`DeadLetter`. The bus (:mod:`parley_runtime.settlement`) applies the step to
the JetStream message.

The rules:

* handled, a duplicate of a committed effect, or an event of a deleted session: ack;
* not ready (an earlier event of the session is missing): redeliver after a delay that doubles
  with each wait (from the handler's delay, at most 15 s) and count the wait; dead-letter once
  ``max_wait_deliveries`` waits are spent;
* unavailable (the service's own database is out of reach): redeliver after a delay that doubles
  with each outage delivery (from 1 s, at most 15 s), without spending the failure budget: an
  outage is not the event's fault, and a few seconds of it must not dead-letter every event in
  flight;
* rejected (it can never succeed): dead-letter at once;
* failed: redeliver after the backoff of its failure count (deliveries less waits and outage
  deliveries; 1 when the wait count is unknown); dead-letter on the ``max_deliver``-th failure;
* whatever the outcome, a delivery at the server's own limit less one is the last the server
  makes: it is dead-lettered rather than dropped silently by the server.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_WAIT_DELAY_S = 15.0
#: Seconds before the first redelivery of an event that met a database outage.
OUTAGE_DELAY_S = 1.0


@dataclass(frozen=True)
class DeliveryPolicy:
    """The limits of redelivery.

    ``max_deliver`` failed deliveries end in a dead letter; ``max_wait_deliveries`` deliveries
    may be spent waiting for an earlier event; ``backoff_s[i]`` is the delay in seconds before
    redelivery after the ``i+1``-th failure (the last value repeats).
    """

    max_deliver: int
    max_wait_deliveries: int
    backoff_s: tuple[float, ...]

    @property
    def server_max_deliver(self) -> int:
        """The server's delivery limit: room for every wait and every failure, and a margin so
        that a crash on the last try is redelivered once more (a message that crashes the
        process every time still cannot loop forever)."""
        return self.max_deliver + self.max_wait_deliveries + 2

    def backoff(self, failures: int) -> float:
        """The delay in seconds before redelivery after ``failures`` failures (at least 1)."""
        steps = self.backoff_s or (1.0,)
        return steps[min(max(failures, 1) - 1, len(steps) - 1)]

    def is_last(self, delivery: int) -> bool:
        """Whether the server will not deliver the event again after ``delivery``."""
        return delivery >= self.server_max_deliver - 1


# Outcomes of one handling.


@dataclass(frozen=True)
class Handled:
    """The handler committed its effect."""


@dataclass(frozen=True)
class Duplicate:
    """A redelivery whose effect was already committed (the inbox had it)."""


@dataclass(frozen=True)
class Dropped:
    """An event of a session that was deleted meanwhile."""


@dataclass(frozen=True)
class NotReady:
    """The event waits for an earlier one; ``delay_s`` is the handler's first delay."""

    reason: str
    delay_s: float


@dataclass(frozen=True)
class Unavailable:
    """The service's database was out of reach (refused, lost or shutting down)."""

    reason: str


@dataclass(frozen=True)
class Rejected:
    """The event can never be handled by this consumer."""

    reason: str


@dataclass(frozen=True)
class Failed:
    """The handler raised; ``error`` is ``"<type>: <message>"``."""

    error: str


Outcome = Handled | Duplicate | Dropped | NotReady | Unavailable | Rejected | Failed


# Steps.


@dataclass(frozen=True)
class Ack:
    """Settle the delivery: it is done. ``label`` names the outcome in metrics."""

    label: str = "ok"


@dataclass(frozen=True)
class Nak:
    """Redeliver after ``delay_s`` seconds; ``count_wait`` when the delivery was a wait, not a
    failure. ``label`` names the outcome in metrics."""

    delay_s: float
    count_wait: bool
    label: str


@dataclass(frozen=True)
class DeadLetter:
    """Publish to the dead letters (after the give-up hook) and terminate the delivery."""

    reason: str
    label: str = "dead_lettered"


Step = Ack | Nak | DeadLetter


def needs_waits(outcome: Outcome) -> bool:
    """Whether :func:`next_step` reads the wait count for this outcome (the bus reads it from
    the database only then)."""
    return isinstance(outcome, NotReady | Failed)


def next_step(
    outcome: Outcome,
    delivery: int,
    waits: int | None,
    policy: DeliveryPolicy,
    outages: int = 0,
) -> Step:
    """The step for ``outcome`` on the ``delivery``-th delivery (1-based).

    ``waits`` is how many earlier deliveries were spent waiting (``NotReady``) on any replica,
    ``None`` when it could not be read (then a failure counts as the first); ``outages`` how many
    earlier deliveries met a database outage (``Unavailable``), as this replica saw them.
    """
    match outcome:
        case Handled():
            return Ack("ok")
        case Duplicate():
            return Ack("duplicate")
        case Dropped():
            return Ack("dropped")
        case Rejected(reason):
            return DeadLetter(f"unprocessable: {reason}")
        case NotReady(reason, delay_s):
            spent = (waits or 0) + 1
            if spent >= policy.max_wait_deliveries or policy.is_last(delivery):
                return DeadLetter(f"still not ready: {reason}")
            delay = min(delay_s * 2 ** (spent - 1), MAX_WAIT_DELAY_S)
            return Nak(delay, count_wait=True, label="waiting")
        case Unavailable(reason):
            if policy.is_last(delivery):
                return DeadLetter(f"database unavailable: {reason}")
            delay = min(OUTAGE_DELAY_S * 2**outages, MAX_WAIT_DELAY_S)
            return Nak(delay, count_wait=False, label="unavailable")
        case Failed(error):
            failures = max(1, delivery - waits - outages) if waits is not None else 1
            if failures >= policy.max_deliver or policy.is_last(delivery):
                return DeadLetter(error)
            return Nak(policy.backoff(failures), count_wait=False, label="retried")
    raise TypeError(f"not an outcome: {outcome!r}")
