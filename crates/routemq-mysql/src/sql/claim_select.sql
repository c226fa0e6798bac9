-- Claim, step 1 of 2 (same transaction as claim_update): lock up to N claimable
-- jobs of one queue, oldest-available first, skipping rows other claimers hold.
-- The range placeholder is empty (a scan from the head of the queue) or one of
-- the claim cursor's fragments, claim_after_cursor.sql / claim_behind_cursor.sql,
-- whose params come between the queue and N (see claim_cursor.rs).
-- Params: queue, [cursor params], N. unique_scope says whether the job holds a
-- uniqueness lock; group_key is its group (NULL = ungrouped). Served by
-- queue_jobs_claim_index as an ordered range scan (no filesort, delayed rows
-- never read). The index is forced: with rows in the table, MariaDB otherwise
-- seeks on (queue, reserved_at) only and filters the cursor's bounds row by row,
-- which walks the very entries the cursor is there to skip. Sessions run READ COMMITTED, so no gap locks block producers.
-- in_flow: 1 for a chain link or batch job (workflow effects at settlement,
-- migration 0013), read from the row the claim reads anyway. available_at comes
-- back last, for the claim cursor.
-- Guarantee: a row locked here is invisible to every other claimer (SKIP LOCKED)
-- until the transaction ends, so no job is handed out twice.
SELECT id, uuid, attempts, max_tries, payload, unique_scope, group_key,
       (flow_next IS NOT NULL OR flow_catch IS NOT NULL OR batch_id IS NOT NULL) AS in_flow,
       available_at
FROM queue_jobs FORCE INDEX (queue_jobs_claim_index)
WHERE queue = ? AND reserved_at IS NULL AND available_at <= NOW(6) {range}
ORDER BY available_at, id
LIMIT ?
FOR UPDATE SKIP LOCKED
