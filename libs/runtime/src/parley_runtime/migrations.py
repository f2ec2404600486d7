"""Per-service schema migrations with yoyo-migrations (plain SQL files, a lock, a history table).

Each service keeps its SQL files in its package's ``migrations`` folder; the chassis adds its own
(inbox and outbox tables) first. Both are applied inside the service's schema, whose
``_yoyo_migration`` table records what was applied.

Every replica migrates at start. Replicas starting at once take turns on a PostgreSQL session
advisory lock per schema (:func:`migration_lock`): the server releases it when its holder's
connection ends, so a migrator that dies half-way never leaves the others locked out. yoyo's own
lock row is only taken inside that turn, and a row left by a dead migrator is cleared first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import structlog
from yoyo import get_backend, read_migrations

log = structlog.get_logger(__name__)

RUNTIME_MIGRATIONS = Path(str(resources.files("parley_runtime") / "migrations"))


def yoyo_url(database_url: str, schema: str) -> str:
    """The yoyo URL (psycopg 3 driver) for ``database_url``, working inside ``schema``."""
    parts = urlsplit(database_url)
    query = dict(parse_qsl(parts.query))
    query["schema"] = schema
    return urlunsplit(parts._replace(scheme="postgresql+psycopg", query=urlencode(query)))


def _libpq_url(database_url: str) -> str:
    """``database_url`` as libpq reads it (no SQLAlchemy-style ``+driver`` in the scheme)."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(scheme=parts.scheme.split("+", 1)[0]))


@contextmanager
def migration_lock(database_url: str, schema: str) -> Iterator[None]:
    """Hold the advisory lock of ``schema``'s migrations for the duration of the block.

    A session-level lock on its own connection: it waits (without a time limit) while another
    process migrates the same schema, and the server frees it if this process dies.
    """
    with psycopg.connect(_libpq_url(database_url), autocommit=True) as conn:
        key = f"parley.migrations.{schema}"
        conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))


def apply_migrations_sync(database_url: str, schema: str, *folders: Path) -> list[str]:
    """Apply the pending migrations of ``folders`` (chassis first) in ``schema``.

    Returns the ids of the migrations applied now (empty when the schema was current).
    The schema must exist (:func:`parley_runtime.db.create_pool` creates it).

    Safe with several processes migrating the same schema at once: they take turns
    (:func:`migration_lock`), and the later ones find nothing left to apply.

    Raises:
        psycopg.Error: a migration failed; its transaction is rolled back.
    """
    migrations = read_migrations(str(RUNTIME_MIGRATIONS), *(str(f) for f in folders))
    with migration_lock(database_url, schema):
        backend = get_backend(yoyo_url(database_url, schema))
        try:
            # Whoever migrates this schema holds the advisory lock: a yoyo lock row seen now
            # was left by a migrator that died before removing it.
            backend.break_lock()
            with backend.lock():
                pending = backend.to_apply(migrations)
                backend.apply_migrations(pending)
        finally:
            backend.connection.close()
    return [m.id for m in pending]


async def apply_migrations(database_url: str, schema: str, *folders: Path) -> list[str]:
    """:func:`apply_migrations_sync` in a worker thread, logging what it applied."""
    applied = await asyncio.to_thread(apply_migrations_sync, database_url, schema, *folders)
    log.info("migrations applied", schema=schema, applied=applied)
    return applied
