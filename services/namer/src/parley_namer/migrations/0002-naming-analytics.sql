-- Naming analytics: who named (offline or a model), at what cost, and why a model's answer was
-- not used; the session's analytics opt-out (its attempts keep no content).
ALTER TABLE naming_state ADD COLUMN analytics_opt_out boolean NOT NULL DEFAULT false;

ALTER TABLE naming_attempts
    ADD COLUMN user_id         text,
    ADD COLUMN purpose         text    NOT NULL DEFAULT 'auto'
        CHECK (purpose IN ('auto', 'suggest', 'regenerate')),
    ADD COLUMN namer           text    NOT NULL DEFAULT 'offline',
    ADD COLUMN words           integer,
    ADD COLUMN input_tokens    integer,
    ADD COLUMN output_tokens   integer,
    ADD COLUMN model_calls     integer NOT NULL DEFAULT 0,
    ADD COLUMN fallback_reason text;

ALTER TABLE naming_attempts DROP CONSTRAINT naming_attempts_outcome_check;
ALTER TABLE naming_attempts ADD CONSTRAINT naming_attempts_outcome_check
    CHECK (outcome IN ('named', 'no_name', 'error', 'superseded', 'suggested'));

UPDATE naming_attempts a SET user_id = s.user_id FROM naming_state s
    WHERE a.session_id = s.session_id AND a.user_id IS NULL;

CREATE INDEX naming_attempts_by_user ON naming_attempts (user_id, created_at);
