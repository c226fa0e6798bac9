-- Grouped claim, step 2, one lane's part: spliced once per lane into one
-- UNION ALL by sql::group_claim, so the lanes of one pass are claimed in one
-- statement instead of one round trip each. Params: queue, group (NULL for the
-- ungrouped lane: `<=>` matches it), the available_at, available_at and id of
-- the last row this claim took from the lane (a time before any row and 0 when
-- it took none), how many to take (1; 0 for a part that only pads the
-- statement to its shape). Served by queue_jobs_group_index as an ordered
-- range scan per part that starts past that row, forced: on a small table
-- Oracle MySQL otherwise picks the claim index and filters the group row by
-- row. A cursor and not an offset counting this claim's rows (which it still
-- sees): a row of the lane that another claimer held and gave back by rolling
-- back sorts ahead of them, and an offset would then land on one of this
-- claim's own rows, handing that job out twice. {after} is
-- claim_after_cursor.sql, the plain claim's cursor fragment.
-- in_flow: 1 for a chain link or batch job (workflow effects at settlement,
-- migration 0013), read from the row the claim reads anyway.
-- Guarantee: as claim_select.sql: a row locked here is invisible to every other
-- claimer (SKIP LOCKED) until the transaction ends. group_key tells which lane
-- a row came from; available_at comes back last, as in claim_select.sql (one
-- row type, groups::Locked).
(SELECT id, uuid, attempts, max_tries, payload, unique_scope, group_key,
        (flow_next IS NOT NULL OR flow_catch IS NOT NULL OR batch_id IS NOT NULL) AS in_flow,
        available_at
 FROM queue_jobs FORCE INDEX (queue_jobs_group_index)
 WHERE queue = ? AND group_key <=> ? AND reserved_at IS NULL AND available_at <= NOW(6)
   {after}
 ORDER BY available_at, id
 LIMIT ?
 FOR UPDATE SKIP LOCKED)
