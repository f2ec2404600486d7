-- Upstream AI sessions (one per Parley session, reused for every message) and the transcript
-- that stateless providers get replayed and that rebuilds a lost upstream session.
CREATE TABLE upstream_sessions (
    session_id    uuid        PRIMARY KEY,
    user_id       text        NOT NULL,
    provider      text        NOT NULL,
    model         text        NOT NULL,
    upstream_id   text,
    opened_count  integer     NOT NULL DEFAULT 0,
    last_turn     integer     NOT NULL DEFAULT 0,
    replies       integer     NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE transcript (
    session_id uuid        NOT NULL,
    turn       integer     NOT NULL,
    role       text        NOT NULL CHECK (role IN ('user', 'assistant')),
    content    text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, turn, role)
);
