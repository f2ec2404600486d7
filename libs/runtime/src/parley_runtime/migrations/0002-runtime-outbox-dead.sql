-- Outbox rows the stream can never take (a payload over the server's max_payload): kept here
-- with the reason instead of blocking every later event of the schema.
CREATE TABLE outbox_dead (
    id            bigint      PRIMARY KEY,
    event_id      uuid        NOT NULL,
    event_type    text        NOT NULL,
    subject       text        NOT NULL,
    payload       bytea       NOT NULL,
    trace_context jsonb,
    created_at    timestamptz NOT NULL,
    reason        text        NOT NULL,
    dead_at       timestamptz NOT NULL DEFAULT now()
);
