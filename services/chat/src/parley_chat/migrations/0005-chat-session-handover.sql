-- A turn that settles in one statement hands its session's lock over inside that statement: it
-- takes the session's handover lock (a transaction-level advisory lock on the two signed 32-bit
-- halves of the same 64 bits, a key space apart from the session lock's bigint), releases the
-- session lock, and keeps the handover lock until the statement commits.
--
-- take_session is lock_session (0004) that first waits for the handover lock (shared, released
-- with its own statement), then tries the session lock: while a taker holds the handover lock no
-- settling statement can release the session lock, so a taker that finds it free reads, on a
-- fresh snapshot, what the last settling statement committed; and the session lock is never
-- held while waiting, so a take cancelled or timed out in that wait leaves nothing locked.
CREATE FUNCTION take_session(lock_key bigint, handover_hi integer, handover_lo integer,
                             of_session uuid)
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

-- lock_session is what chat processes of the previous version call: during a rolling deploy
-- they wait for the handover too, through take_session.
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
