-- A turn takes its session's advisory lock and reads, once it holds it, whether the session was
-- deleted and its ledger: one round trip instead of two. A VOLATILE function takes a fresh
-- snapshot for each statement it runs, so the read sees what the lock's last holder committed
-- (a plain statement's one snapshot would be taken before the lock). The lock is a session-level
-- one: it outlives the call, and the caller releases it with pg_advisory_unlock.
CREATE FUNCTION lock_session(lock_key bigint, of_session uuid)
RETURNS TABLE (locked boolean, gone boolean, ledger upstream_sessions)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF NOT pg_try_advisory_lock(lock_key) THEN
        RETURN QUERY SELECT false, false, NULL::upstream_sessions;
        RETURN;
    END IF;
    RETURN QUERY SELECT
        true,
        EXISTS (SELECT 1 FROM deleted_sessions d WHERE d.session_id = of_session),
        (SELECT u FROM upstream_sessions u WHERE u.session_id = of_session);
END
$$;
