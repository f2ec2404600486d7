-- GET /api/traces without a tag or session: a user's traces, newest first, paged by (created_at, id).
DROP INDEX llm_traces_by_tag;
CREATE INDEX llm_traces_by_tag ON llm_traces (user_id, session_tag, created_at DESC, id DESC);
CREATE INDEX llm_traces_by_user ON llm_traces (user_id, created_at DESC, id DESC);
