"""``parley-namer``: run the namer until interrupted."""

from __future__ import annotations

from parley_runtime import serve

from .app import build
from .settings import NamerSettings


def main() -> None:
    """Entrypoint: consume messages and replies, publish ``session.named``; health on 8082."""
    settings = NamerSettings()
    service, app = build(settings)
    serve(service, app, port=settings.health_port or 8082)


if __name__ == "__main__":
    main()
