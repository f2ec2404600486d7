-- A session's next holder waits for the handover lock (0005) before it tries the session lock,
-- not after: the session lock is then never held while waiting, so a take cancelled or timed out
-- in that wait leaves nothing locked behind it. The order is as safe: a settling statement takes
-- the handover lock before it releases the session lock, so while a taker holds the handover
-- lock (shared) no settling statement can release the session lock, and a taker that finds it
-- free reads, on a fresh snapshot, what the last settling statement committed.
CREATE OR REPLACE FUNCTION take_session(lock_key bigint, handover_hi integer,
                                        handover_lo integer, of_session uuid)
RETURNS TABLE (locked boolean, gone boolean, ledger upstream_sessions)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(handover_hi, handover_lo);
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

-- lock_session (0004) is what chat processes of the previous version call: during a rolling
-- deploy they wait for the handover too (its key: the two signed 32-bit halves of lock_key).
CREATE OR REPLACE FUNCTION lock_session(lock_key bigint, of_session uuid)
RETURNS TABLE (locked boolean, gone boolean, ledger upstream_sessions)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN QUERY SELECT * FROM take_session(
        lock_key,
        (lock_key >> 32)::integer,
        ((lock_key & 4294967295) - CASE WHEN (lock_key & 2147483648) <> 0
                                        THEN 4294967296 ELSE 0 END)::integer,
        of_session);
END
$$;
