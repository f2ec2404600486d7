"""The puller's count of messages asked for (no servers): deliveries and expired requests
take from it, heartbeats do not, an ended request or a reconnect or silence forgets it."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from parley_runtime.pulling import IDLE_HEARTBEAT_S, Puller


def _puller(delivered: list[Any]) -> Puller:
    nc = SimpleNamespace(stats={"reconnects": 0})
    puller = Puller(nc, "S", "d", batch=8, room=lambda: 100, deliver=delivered.append)  # type: ignore[arg-type]
    puller.pending = 8
    puller._heard_at = time.monotonic()
    return puller


def _msg(headers: dict[str, str] | None = None) -> Any:
    return SimpleNamespace(headers=headers, data=b"x")


async def test_deliveries_and_expired_requests_take_from_what_was_asked() -> None:
    delivered: list[Any] = []
    puller = _puller(delivered)
    await puller._on_message(_msg())
    assert puller.pending == 7 and len(delivered) == 1
    await puller._on_message(_msg({"Status": "100", "Description": "Idle Heartbeat"}))
    assert puller.pending == 7
    await puller._on_message(_msg({"Status": "408", "Nats-Pending-Messages": "5"}))
    assert puller.pending == 2 and len(delivered) == 1


async def test_a_request_the_server_ends_is_forgotten_and_asked_again_after_a_pause() -> None:
    puller = _puller([])
    await puller._on_message(_msg({"Status": "409", "Description": "Consumer Deleted"}))
    assert puller.pending == 0 and puller._refused


def test_requests_are_forgotten_after_a_reconnect_or_two_silent_heartbeats() -> None:
    puller = _puller([])
    puller._check_alive()
    assert puller.pending == 8
    puller.nc.stats["reconnects"] = 1
    puller._check_alive()
    assert puller.pending == 0
    puller.pending, puller._heard_at = 8, time.monotonic() - 3 * IDLE_HEARTBEAT_S
    puller._check_alive()
    assert puller.pending == 0
