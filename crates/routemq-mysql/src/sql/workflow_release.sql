-- Makes a waiting job (next chain link or callback) claimable now. Params:
-- queue, uuid. Served by queue_jobs_uuid_index. 0 rows = not waiting any more
-- (released already, cancelled or cleared): nothing to do.
-- Guarantee: runs in the transaction of the settlement that releases it, so
-- the job becomes claimable exactly when that settlement commits; the
-- `waiting = 1` guard releases it at most once.
UPDATE queue_jobs SET waiting = 0, available_at = NOW(6)
WHERE queue = ? AND uuid = ? AND waiting = 1
