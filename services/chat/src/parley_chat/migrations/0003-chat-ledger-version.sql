-- A turn ledger's version: each settle stores the next one, and only over the one it read
-- (optimistic concurrency), so a turn answered under the session's advisory lock settles in one
-- statement, and one given up meanwhile (without that lock) is noticed.
ALTER TABLE upstream_sessions ADD COLUMN version bigint NOT NULL DEFAULT 0;
