-- Listing filter, waiting jobs (chain links and batch callbacks at the
-- sentinel due time '9999-12-31 00:00:00', migration 0013), oldest first (row
-- id: push order), for listing_page.sql. Params: queue. Served by
-- queue_jobs_claim_index as one exact key (queue, NULL, sentinel), whose
-- entries are in row id order (no filesort).
-- Guarantee: reads only.
WHERE queue = ? AND reserved_at IS NULL AND available_at = '9999-12-31 00:00:00'
ORDER BY id
