-- Writes one running attempt's record. Params: worker, percent (NULL = no
-- progress), message, report time as whole Unix seconds and microseconds past
-- them (NULL, NULL = no progress), error (NULL = none: the last error so far
-- is kept), id, owner token. 0 rows = the lease is no longer current (stale
-- reports are skipped, not errors).
-- Guarantee: a primary-key UPDATE fenced by the owner token: only the current
-- reservation writes, and run_owner marks the record as that reservation's.
UPDATE queue_jobs
SET run_owner = owner,
    run_worker = ?,
    run_percent = ?,
    run_message = ?,
    run_at = FROM_UNIXTIME(?) + INTERVAL ? MICROSECOND,
    run_error = COALESCE(?, run_error)
WHERE id = ? AND owner = ?
