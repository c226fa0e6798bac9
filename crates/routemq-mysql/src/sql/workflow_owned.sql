-- A workflow job's settlement, step 1: lock the row while the given owner
-- holds it and read its place in the workflow. Params: id, owner token.
-- Returns id, queue, flow_next, flow_catch, batch_id. No row = lease lost.
-- Guarantee: FOR UPDATE on the job row first (then the batch's, if any), in the
-- transaction that removes the job and applies its effects.
SELECT id, queue, flow_next, flow_catch, batch_id
FROM queue_jobs
WHERE id = ? AND owner = ?
FOR UPDATE
