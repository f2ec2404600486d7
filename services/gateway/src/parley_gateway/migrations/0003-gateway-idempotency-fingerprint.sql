-- An Idempotency-Key remembers the fingerprint of its request: the same key with another body is refused.
ALTER TABLE idempotency_keys ADD COLUMN fingerprint text;
