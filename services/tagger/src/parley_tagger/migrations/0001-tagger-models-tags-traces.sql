-- The model registry, per-user per-model counters, session tags and LLM traces.
CREATE TABLE llm_models (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text        NOT NULL UNIQUE,
    provider   text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tag_counters (
    user_id      text    NOT NULL,
    model_id     uuid    NOT NULL REFERENCES llm_models (id),
    last_counter integer NOT NULL,
    PRIMARY KEY (user_id, model_id)
);

CREATE TABLE session_tags (
    session_id        uuid        PRIMARY KEY,
    user_id           text        NOT NULL,
    model_id          uuid        NOT NULL REFERENCES llm_models (id),
    counter           integer     NOT NULL,
    session_tag       text        NOT NULL,
    analytics_opt_out boolean     NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, model_id, counter)
);
-- A tag is unique per user (its counter is per user and model), not across users.
CREATE UNIQUE INDEX session_tags_by_user_tag ON session_tags (user_id, session_tag);

CREATE TABLE llm_traces (
    id                  uuid        PRIMARY KEY,
    session_id          uuid        NOT NULL,
    user_id             text        NOT NULL,
    session_tag         text        NOT NULL,
    model_id            uuid        NOT NULL REFERENCES llm_models (id),
    model               text        NOT NULL,
    provider            text        NOT NULL,
    turn                integer     NOT NULL,
    input               text        NOT NULL,
    output              text        NOT NULL,
    upstream_session_id text,
    latency_ms          integer     NOT NULL,
    input_tokens        integer,
    output_tokens       integer,
    correlation_id      uuid,
    created_at          timestamptz NOT NULL
);
CREATE INDEX llm_traces_by_tag ON llm_traces (session_tag, user_id, created_at);
CREATE INDEX llm_traces_by_session ON llm_traces (session_id, created_at);
