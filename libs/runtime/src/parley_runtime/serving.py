"""The HTTP server of a service: uvicorn, told when its shutdown begins.

uvicorn shuts down in this order: stop accepting connections, wait for every open request to
finish (without a limit by default), then run the application's lifespan shutdown. A request
that waits for something (a reply, up to a minute) would hold the shutdown that long, and a
supervisor that stops waiting would drop it unanswered. :class:`DrainingServer` runs the
service's draining hooks first, so such requests can answer at once with what they have.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable

import structlog
import uvicorn

log = structlog.get_logger(__name__)


class DrainingServer(uvicorn.Server):
    """A uvicorn server that calls ``on_drain`` (each once, no arguments) when its shutdown
    begins, before it waits for the open requests; whether the shutdown came from a signal or
    from ``should_exit`` being set."""

    def __init__(self, config: uvicorn.Config, on_drain: Iterable[Callable[[], None]]) -> None:
        super().__init__(config)
        self._on_drain = list(on_drain)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Run the draining hooks (a failing one is logged), then uvicorn's shutdown."""
        for hook in self._on_drain:
            try:
                hook()
            except Exception:
                log.exception("a draining hook failed")
        await super().shutdown(sockets)
