-- The maintenance pass finds unanswered messages and expired idempotency keys by index.
CREATE INDEX messages_pending_by_age ON messages (created_at) WHERE status = 'pending';
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
