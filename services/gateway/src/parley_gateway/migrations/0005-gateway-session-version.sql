-- A session row's version: every write of the row stores the next one, and only over the one
-- it read (optimistic concurrency), so a message can be posted without locking the row.
ALTER TABLE sessions ADD COLUMN version bigint NOT NULL DEFAULT 0;
