"""``parley-gateway``: run the gateway (HTTP API and SSE) until interrupted."""

from __future__ import annotations

from parley_runtime import serve

from .app import build
from .settings import GatewaySettings


def main() -> None:
    """Entrypoint: serve the gateway on ``PARLEY_HEALTH_HOST:PARLEY_PORT`` (127.0.0.1:8000)."""
    settings = GatewaySettings()
    service, app = build(settings)
    serve(service, app, port=settings.port)


if __name__ == "__main__":
    main()
