-- Sessions deleted, so that events arriving after the deletion (published before it, delivered
-- after it) do not bring back data of a session the user erased.
CREATE TABLE deleted_sessions (
    session_id uuid        PRIMARY KEY,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
