"""``parley-chat``: run the chat service until interrupted."""

from __future__ import annotations

from parley_runtime import serve

from .app import build
from .settings import ChatSettings


def main() -> None:
    """Entrypoint: consume ``message.created``; health on ``PARLEY_HEALTH_PORT`` (8081)."""
    settings = ChatSettings()
    service, app = build(settings)
    serve(service, app, port=settings.health_port or 8081)


if __name__ == "__main__":
    main()
