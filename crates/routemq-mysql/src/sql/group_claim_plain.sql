-- Grouped claim, step 2 for the ungrouped lane: lock the oldest claimable job
-- without a group. Params: queue, how many this claim already took from the
-- lane (rows it locked itself are still seen, others' are skipped). Served by queue_jobs_group_index (group_key
-- NULL) as an ordered range scan.
-- Guarantee: as claim_select.sql: a row locked here is invisible to every other
-- claimer (SKIP LOCKED) until the transaction ends.
SELECT id, uuid, attempts, max_tries, payload, unique_scope, group_key
FROM queue_jobs
WHERE queue = ? AND group_key IS NULL AND reserved_at IS NULL AND available_at <= NOW(6)
ORDER BY available_at, id
LIMIT ?, 1
FOR UPDATE SKIP LOCKED
