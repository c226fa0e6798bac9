-- Grouped claim, step 2: lock the oldest claimable job of one group. Params:
-- queue, group, how many this claim already took from it (rows it locked
-- itself are still seen, others' are skipped). Served by queue_jobs_group_index as an ordered range scan.
-- in_flow: 1 for a chain link or batch job (workflow effects at settlement,
-- migration 0013), read from the row the claim reads anyway.
-- Guarantee: as claim_select.sql: a row locked here is invisible to every other
-- claimer (SKIP LOCKED) until the transaction ends.
-- available_at comes back last, as in claim_select.sql (one row type, groups::Locked).
SELECT id, uuid, attempts, max_tries, payload, unique_scope, group_key,
       (flow_next IS NOT NULL OR flow_catch IS NOT NULL OR batch_id IS NOT NULL) AS in_flow,
       available_at
FROM queue_jobs
WHERE queue = ? AND group_key = ? AND reserved_at IS NULL AND available_at <= NOW(6)
ORDER BY available_at, id
LIMIT ?, 1
FOR UPDATE SKIP LOCKED
