-- The trace context (W3C traceparent/tracestate) of the transaction that wrote an outbox row,
-- published with it as NATS headers; NULL when nothing was traced.
ALTER TABLE outbox ADD COLUMN trace_context jsonb;
