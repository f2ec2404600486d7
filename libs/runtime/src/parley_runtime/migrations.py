"""Per-service schema migrations with yoyo-migrations (plain SQL files, a lock, a history table).

Each service keeps its SQL files in its package's ``migrations`` folder; the chassis adds its own
(inbox and outbox tables) first. Both are applied inside the service's schema, whose
``_yoyo_migration`` table records what was applied.
"""

from __future__ import annotations

import asyncio
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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


def apply_migrations_sync(database_url: str, schema: str, *folders: Path) -> list[str]:
    """Apply the pending migrations of ``folders`` (chassis first) in ``schema``.

    Returns the ids of the migrations applied now (empty when the schema was current).
    The schema must exist (:func:`parley_runtime.db.create_pool` creates it).

    Raises:
        yoyo.exceptions.LockTimeout: another process held the migration lock too long.
        psycopg.Error: a migration failed; its transaction is rolled back.
    """
    backend = get_backend(yoyo_url(database_url, schema))
    migrations = read_migrations(str(RUNTIME_MIGRATIONS), *(str(f) for f in folders))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [m.id for m in pending]


async def apply_migrations(database_url: str, schema: str, *folders: Path) -> list[str]:
    """:func:`apply_migrations_sync` in a worker thread, logging what it applied."""
    applied = await asyncio.to_thread(apply_migrations_sync, database_url, schema, *folders)
    log.info("migrations applied", schema=schema, applied=applied)
    return applied
