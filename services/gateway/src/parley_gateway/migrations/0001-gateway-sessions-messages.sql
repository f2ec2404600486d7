-- Sessions and messages of the gateway, and the idempotency keys of client requests.
CREATE TABLE sessions (
    id                uuid        PRIMARY KEY,
    user_id           text        NOT NULL,
    name              text        NOT NULL,
    name_source       text        NOT NULL CHECK (name_source IN ('default', 'provisional', 'auto', 'user')),
    persona           text,
    model             text        NOT NULL,
    metadata          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    is_archived       boolean     NOT NULL DEFAULT false,
    analytics_opt_out boolean     NOT NULL DEFAULT false,
    message_count     integer     NOT NULL DEFAULT 0 CHECK (message_count >= 0),
    user_turns        integer     NOT NULL DEFAULT 0,
    next_seq          integer     NOT NULL DEFAULT 1,
    session_tag       text,
    tags              jsonb       NOT NULL DEFAULT '[]'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    last_message_at   timestamptz,
    activity_at       timestamptz GENERATED ALWAYS AS (coalesce(last_message_at, created_at)) STORED
);
CREATE INDEX sessions_by_user_activity ON sessions (user_id, activity_at DESC, id DESC);

CREATE TABLE messages (
    id         uuid        PRIMARY KEY,
    session_id uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq        integer     NOT NULL,
    role       text        NOT NULL CHECK (role IN ('user', 'assistant')),
    content    text        NOT NULL,
    status     text        NOT NULL CHECK (status IN ('pending', 'answered', 'failed', 'completed')),
    reply_to   uuid,
    error      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (session_id, seq)
);
CREATE INDEX messages_by_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;

CREATE TABLE idempotency_keys (
    user_id     text        NOT NULL,
    key         text        NOT NULL,
    resource    text        NOT NULL,
    resource_id uuid        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
