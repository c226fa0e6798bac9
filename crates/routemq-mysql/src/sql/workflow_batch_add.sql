-- add_to_batch: counts added jobs. Params: number of jobs (twice), batch id.
-- Guarantee: on the row locked by workflow_batch_lock.sql in the transaction
-- that stores the jobs.
UPDATE queue_batches SET total = total + ?, pending = pending + ? WHERE id = ?
