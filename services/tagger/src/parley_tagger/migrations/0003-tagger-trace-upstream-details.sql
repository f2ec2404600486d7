-- What the upstream reported about each reply: its id of the reply, why it stopped, how many
-- tries the reply took, and when its last byte arrived.
ALTER TABLE llm_traces ADD COLUMN upstream_response_id text;
ALTER TABLE llm_traces ADD COLUMN finish_reason text;
ALTER TABLE llm_traces ADD COLUMN retries integer NOT NULL DEFAULT 0;
ALTER TABLE llm_traces ADD COLUMN upstream_done_at timestamptz;
