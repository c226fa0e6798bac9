-- Claim cursor, the common scan: only rows ordered after the cursor, the
-- (available_at, id) of the last job this process claimed from the queue, so
-- the scan starts past the index entries of jobs claimed before, which InnoDB
-- keeps (delete-marked) at the head of the range until purge removes them.
-- Spliced into claim_select.sql's {range}, and into group_claim_part.sql's
-- {after} (past the last job a grouped claim took from a lane). Params:
-- available_at, available_at, id.
-- Guarantee: with the rest of the WHERE, an index range on
-- queue_jobs_claim_index (InnoDB appends the primary key to it).
AND (available_at > ? OR (available_at = ? AND id > ?))
