-- Claim, step 1 of 2, for a queue with per-group controls but no rotation:
-- lock up to N claimable UNGROUPED jobs, oldest-available first (a grouped job
-- whose push committed meanwhile waits for the rotation, so it never escapes
-- its group's cap, hold or window). The range placeholder is filled as in
-- claim_select.sql (empty, or a claim cursor fragment whose params come
-- between the queue and N; claim_cursor.rs keeps this scan's cursor apart).
-- Params: queue, [cursor params], N. Served by queue_jobs_group_index
-- (group_key NULL) as an ordered range scan, forced as claim_select.sql forces
-- its index, so the cursor's bounds are seeks, not row-by-row filters.
-- in_flow: 1 for a chain link or batch job (workflow effects at settlement,
-- migration 0013), read from the row the claim reads anyway.
-- Guarantee: as claim_select.sql: a row locked here is invisible to every other
-- claimer (SKIP LOCKED) until the transaction ends.
-- available_at comes back last, as in claim_select.sql (one row type, groups::Locked).
SELECT id, uuid, attempts, max_tries, payload, unique_scope, group_key,
       (flow_next IS NOT NULL OR flow_catch IS NOT NULL OR batch_id IS NOT NULL) AS in_flow,
       available_at
FROM queue_jobs FORCE INDEX (queue_jobs_group_index)
WHERE queue = ? AND group_key IS NULL AND reserved_at IS NULL AND available_at <= NOW(6) {range}
ORDER BY available_at, id
LIMIT ?
FOR UPDATE SKIP LOCKED
