-- A turn that settles in one statement hands its session's lock over inside that statement: it
-- takes the session's handover lock (a transaction-level advisory lock on the two integers of
-- the same 64 bits, a key space apart from the session lock's bigint), releases the session lock,
-- and keeps the handover lock until the statement commits. take_session is lock_session (0004)
-- that, once it holds the session lock, waits for the handover lock (shared, released with its
-- own statement), so its read, on a fresh snapshot, sees what the last holder committed.
CREATE FUNCTION take_session(lock_key bigint, handover_hi integer, handover_lo integer,
                             of_session uuid)
RETURNS TABLE (locked boolean, gone boolean, ledger upstream_sessions)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF NOT pg_try_advisory_lock(lock_key) THEN
        RETURN QUERY SELECT false, false, NULL::upstream_sessions;
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(handover_hi, handover_lo);
    RETURN QUERY SELECT
        true,
        EXISTS (SELECT 1 FROM deleted_sessions d WHERE d.session_id = of_session),
        (SELECT u FROM upstream_sessions u WHERE u.session_id = of_session);
END
$$;
