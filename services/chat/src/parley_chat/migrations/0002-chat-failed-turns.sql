-- Turns given up before their predecessors settled: skipped once the predecessors settle, so one
-- failed turn never blocks the rest of a session.
ALTER TABLE upstream_sessions ADD COLUMN failed_turns integer[] NOT NULL DEFAULT '{}';
