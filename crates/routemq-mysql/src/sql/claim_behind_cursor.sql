-- Claim cursor, the catch-up scan: rows ordered at or before the cursor (a job
-- whose push committed late, or that another claimer locked and then gave
-- back). Spliced into claim_select.sql's {range}. Params: available_at,
-- available_at, id.
-- Guarantee: disjoint from claim_after_cursor.sql, so one transaction running
-- both never sees a row twice.
AND (available_at < ? OR (available_at = ? AND id <= ?))
