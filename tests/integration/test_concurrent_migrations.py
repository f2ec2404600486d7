"""Replicas migrating at start, all at once, on one fresh PostgreSQL database.

Every replica of every service prepares its database when it starts (database, schema,
migrations). Several processes doing so together must all succeed, and each migration must be
applied exactly once; a lock left behind by a migrator that died must not lock the others out.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from importlib import resources
from pathlib import Path

import asyncpg
from parley_runtime.db import database_name, with_database
from parley_runtime.migrations import RUNTIME_MIGRATIONS, apply_migrations
from stack import Servers

MIGRATOR = Path(__file__).with_name("migrator.py")
SERVICES = ("gateway", "chat", "namer", "tagger")
PROCESSES = 4


def _migration_ids(service: str) -> set[str]:
    folders = [RUNTIME_MIGRATIONS, Path(str(resources.files(f"parley_{service}") / "migrations"))]
    return {path.stem for folder in folders for path in folder.glob("*.sql")}


async def _drop(database_url: str) -> None:
    conn = await asyncpg.connect(with_database(database_url, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database_name(database_url)}" WITH (FORCE)')
    finally:
        await conn.close()


async def test_replicas_starting_together_apply_each_migration_once(servers: Servers) -> None:
    database_url = with_database(servers.database_url, f"parley_mig_{uuid.uuid4().hex[:8]}")
    try:
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(MIGRATOR),
                database_url,
                str(i % len(SERVICES)),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for i in range(PROCESSES)
        ]
        outputs = [await proc.communicate() for proc in procs]
        for proc, (_out, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err.decode()[-3000:]
        reports = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]

        conn = await asyncpg.connect(database_url)
        try:
            for service in SERVICES:
                expected = _migration_ids(service)
                # Among all processes, each migration was applied by exactly one.
                applied_now = [m for report in reports for m in report[service]]
                assert sorted(applied_now) == sorted(expected), service
                rows = await conn.fetch(f'SELECT migration_id FROM "{service}"._yoyo_migration')
                assert sorted(r["migration_id"] for r in rows) == sorted(expected), service
                locks = await conn.fetchval(f'SELECT count(*) FROM "{service}".yoyo_lock')
                assert locks == 0, f"{service}: a migration lock row was left behind"
            # Each service's own tables exist: the inbox and outbox of the chassis, for one.
            tables = await conn.fetch(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox'"
            )
            assert sorted(t["table_schema"] for t in tables) == sorted(SERVICES)
        finally:
            await conn.close()
    finally:
        await _drop(database_url)


async def test_a_lock_left_by_a_dead_migrator_does_not_block_the_next(servers: Servers) -> None:
    database_url = with_database(servers.database_url, f"parley_mig_{uuid.uuid4().hex[:8]}")
    folder = Path(str(resources.files("parley_tagger") / "migrations"))
    try:
        admin = await asyncpg.connect(with_database(database_url, "postgres"))
        await admin.execute(f'CREATE DATABASE "{database_name(database_url)}"')
        await admin.close()
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute('CREATE SCHEMA "tagger"')
            assert await apply_migrations(database_url, "tagger", folder)
            # A migrator killed half-way leaves yoyo's lock row behind.
            await conn.execute(
                "INSERT INTO tagger.yoyo_lock (locked, ctime, pid) VALUES (1, now(), 424242)"
            )
            started = time.monotonic()
            assert await apply_migrations(database_url, "tagger", folder) == []
            # yoyo alone would wait 10 s for that row, then fail with LockTimeout.
            assert time.monotonic() - started < 5
            assert await conn.fetchval("SELECT count(*) FROM tagger.yoyo_lock") == 0
        finally:
            await conn.close()
    finally:
        await _drop(database_url)
