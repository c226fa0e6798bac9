-- Listing filter, ready jobs, part 1: the ungrouped ones in claim order (oldest
-- available first, as claim_select.sql takes them), for listing_page.sql.
-- Params: queue. Served by queue_jobs_group_index (group_key NULL) or, on a
-- queue without grouped jobs, queue_jobs_claim_index: an ordered range of
-- exactly these jobs (no filesort), so a page reads offset + limit entries.
-- Guarantee: reads only.
WHERE queue = ? AND group_key IS NULL AND reserved_at IS NULL AND available_at <= NOW(6)
ORDER BY available_at, id
