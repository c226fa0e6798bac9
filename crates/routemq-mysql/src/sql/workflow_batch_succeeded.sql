-- The common batch settlement in one statement: a job succeeded and others are
-- still pending (so nothing is released or finished). Params: batch id.
-- 1 row = done; 0 rows = not that case (the last pending job, an unknown
-- batch): the caller then takes the full path (workflow_batch_lock.sql).
-- Guarantee: one primary-key UPDATE holding the batch's row lock only until the
-- settlement's transaction commits; counters change atomically with the job's
-- removal.
UPDATE queue_batches
SET pending = pending - 1, succeeded = succeeded + 1
WHERE id = ? AND pending > 1 AND finished_at IS NULL
