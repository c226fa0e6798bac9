-- Listing filter, delayed jobs (grouped or not), soonest due first, for
-- listing_page.sql. Params: queue. Waiting jobs (the sentinel due time
-- '9999-12-31 00:00:00', migration 0013) are not delayed. Served by
-- queue_jobs_claim_index as an ordered range of exactly these jobs (no
-- filesort).
-- Guarantee: reads only.
WHERE queue = ? AND reserved_at IS NULL AND available_at > NOW(6)
  AND available_at < '9999-12-31 00:00:00'
ORDER BY available_at, id
