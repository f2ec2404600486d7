"""``parley-tagger``: run the tagger until interrupted."""

from __future__ import annotations

from parley_runtime import serve

from .app import build
from .settings import TaggerSettings


def main() -> None:
    """Entrypoint: consume ``session.created`` and ``reply.completed``; health on 8083."""
    settings = TaggerSettings()
    service, app = build(settings)
    serve(service, app, port=settings.health_port or 8083)


if __name__ == "__main__":
    main()
