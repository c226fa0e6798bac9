-- Claim, step 1 of 2 (same transaction as claim_update): lock up to N claimable
-- jobs of one queue, oldest-available first, skipping rows other claimers hold.
-- Params: queue, N. unique_scope says whether the job holds a uniqueness lock; group_key is
-- its group (NULL = ungrouped). Served by queue_jobs_claim_index as an ordered range scan
-- (no filesort, delayed rows never read). Sessions run READ COMMITTED, so no gap
-- locks block producers.
-- in_flow: 1 for a chain link or batch job (workflow effects at settlement,
-- migration 0013), read from the row the claim reads anyway.
-- Guarantee: a row locked here is invisible to every other claimer (SKIP LOCKED)
-- until the transaction ends, so no job is handed out twice.
SELECT id, uuid, attempts, max_tries, payload, unique_scope, group_key,
       (flow_next IS NOT NULL OR flow_catch IS NOT NULL OR batch_id IS NOT NULL) AS in_flow
FROM queue_jobs
WHERE queue = ? AND reserved_at IS NULL AND available_at <= NOW(6)
ORDER BY available_at, id
LIMIT ?
FOR UPDATE SKIP LOCKED
