-- Cancel, step 1: lock the job named by (queue, id). Params: the job
-- selection's. Returns id, 1 when reserved, unique_scope (not NULL = holds a
-- uniqueness lock while it waits), batch_id (a batch counts its cancel).
-- Guarantee: FOR UPDATE, so the job cannot be claimed (claims skip locked
-- rows), reclaimed or acked until the cancel commits; a waiting job is then
-- removed, a running one flagged.
SELECT id, reserved_at IS NOT NULL AS is_reserved, unique_scope, batch_id
FROM queue_jobs
WHERE {job}
ORDER BY id DESC
LIMIT 1
FOR UPDATE
