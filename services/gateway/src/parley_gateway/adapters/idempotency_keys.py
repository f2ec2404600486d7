"""The gateway's idempotency keys on PostgreSQL (asyncpg): which request a client's key was
first used for, so a retried request returns what the first one made."""

from __future__ import annotations

import uuid

import asyncpg

from ..domain.idempotency import EarlierUse


class PostgresIdempotencyKeys:
    """The ``idempotency_keys`` table."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def claim(
        self,
        user_id: str,
        key: str,
        resource: str,
        resource_id: uuid.UUID,
        fingerprint: str,
        ttl_s: float,
    ) -> EarlierUse | None:
        """One statement, so a concurrent prune cannot remove the row between the claim and its
        read; a use older than ``ttl_s`` is replaced by this one."""
        expired = "idempotency_keys.created_at < now() - make_interval(secs => $6)"
        row = await self.conn.fetchrow(
            "INSERT INTO idempotency_keys (user_id, key, resource, resource_id, fingerprint)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, key) DO UPDATE SET"
            f"  resource = CASE WHEN {expired} THEN EXCLUDED.resource"
            "    ELSE idempotency_keys.resource END,"
            f"  resource_id = CASE WHEN {expired} THEN EXCLUDED.resource_id"
            "    ELSE idempotency_keys.resource_id END,"
            f"  fingerprint = CASE WHEN {expired} THEN EXCLUDED.fingerprint"
            "    ELSE idempotency_keys.fingerprint END,"
            f"  created_at = CASE WHEN {expired} THEN now() ELSE idempotency_keys.created_at END"
            " RETURNING resource, resource_id, fingerprint",
            *(user_id, key, resource, resource_id, fingerprint, ttl_s),
        )
        assert row is not None
        if row["resource_id"] == resource_id:
            return None
        return EarlierUse(row["resource"], row["resource_id"], row["fingerprint"])

    async def prune(self, ttl_s: float) -> int:
        """Delete idempotency keys older than ``ttl_s`` seconds; returns how many."""
        status = await self.conn.execute(
            "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)",
            ttl_s,
        )
        return int(status.split()[-1])
