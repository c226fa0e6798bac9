-- Locks a batch's record for a change of its counters. Params: batch id.
-- Returns queue, total, pending, succeeded, failed, cancelled, allow_failures,
-- cancelled_batch, then, catch and finally uuids (NULL once released or
-- removed), 1 when finished. No row = unknown (never stored, or pruned).
-- Guarantee: FOR UPDATE: every settlement of the batch's jobs, add_to_batch and
-- cancel_batch serialise on this row lock, taken after any job row lock of the
-- same transaction (job rows first, then the batch: one order everywhere).
SELECT queue, total, pending, succeeded, failed, cancelled, allow_failures, cancelled_batch,
       then_uuid, catch_uuid, finally_uuid, finished_at IS NOT NULL AS is_finished
FROM queue_batches
WHERE id = ?
FOR UPDATE
