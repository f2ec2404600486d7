-- How many deliveries of an event a consumer spent waiting for an earlier one (RetryLater):
-- they do not count as failures, on whichever replica the redeliveries land.
CREATE TABLE delivery_waits (
    consumer   text        NOT NULL,
    event_id   uuid        NOT NULL,
    waits      integer     NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
