-- Raises an error that ends the statement calling it, so that a unit of work written in one
-- statement without a transaction (an optimistic one) leaves nothing behind when it is refused:
-- its inbox mark was there already, its session was deleted, or a row it read has changed
-- since (SQLSTATE P0001, message 'parley refused: <reason>'). Volatile, so it runs only when
-- reached.
CREATE FUNCTION refuse_write(reason text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'parley refused: %', reason;
END
$$;
