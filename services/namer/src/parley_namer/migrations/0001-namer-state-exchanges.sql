-- The namer keeps the first 3 exchanges of each session, its naming state, and every attempt
-- (for analytics).
CREATE TABLE naming_state (
    session_id uuid        PRIMARY KEY,
    user_id    text        NOT NULL,
    status     text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'named', 'user')),
    name       text,
    language   text,
    attempts   integer     NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE exchanges (
    session_id uuid    NOT NULL,
    turn       integer NOT NULL,
    role       text    NOT NULL CHECK (role IN ('user', 'assistant')),
    content    text    NOT NULL,
    PRIMARY KEY (session_id, turn, role)
);

CREATE TABLE naming_attempts (
    session_id   uuid        NOT NULL,
    attempt      integer     NOT NULL,
    trigger_turn integer     NOT NULL,
    outcome      text        NOT NULL CHECK (outcome IN ('named', 'no_name', 'error', 'superseded')),
    name         text,
    language     text,
    detail       text,
    duration_ms  integer     NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, attempt)
);
