-- Reclaim, step 1: lock reservations of one queue whose lease has expired (or
-- that have no lease: rows reserved by hand or by an older driver). Params:
-- queue, batch size. Forced onto queue_jobs_claim_index's reserved_at IS NOT
-- NULL range, which holds only in-flight jobs: a locking read locks what it
-- reads, and Oracle MySQL would otherwise plan it through queue_jobs_lease_index
-- (migration 0014) over a range that starts at lease_until IS NULL, where the
-- queue's ready jobs are. unique_scope marks jobs holding a
-- uniqueness lock (released if the job fails here); cancel_requested marks jobs
-- to record as cancelled instead (migration 0012); flow_next, flow_catch and
-- batch_id the workflow effects of a job failed or cancelled here (0013).
-- Guarantee: SKIP LOCKED: two reclaimers never handle the same reservation.
SELECT id, attempts, max_tries, unique_scope, cancel_requested, flow_next, flow_catch, batch_id
FROM queue_jobs FORCE INDEX (queue_jobs_claim_index)
WHERE queue = ? AND reserved_at IS NOT NULL
  AND (lease_until IS NULL OR lease_until <= NOW(6))
ORDER BY id
LIMIT ?
FOR UPDATE SKIP LOCKED
