-- Idle expiry: a session may name a time to live without messages; the gateway stores when it
-- expires (its last activity plus the time to live) and the maintenance pass erases it then.
ALTER TABLE sessions
    ADD COLUMN idle_ttl_s integer CHECK (idle_ttl_s > 0),
    ADD COLUMN expires_at timestamptz;
CREATE INDEX sessions_by_expiry ON sessions (expires_at) WHERE expires_at IS NOT NULL;
