-- Listing filter, ready jobs, part 2: the ready jobs of some groups
-- (listing_lanes.sql), group by group in key order, each oldest available
-- first, for listing_page.sql. Params: queue, then the groups (the IN list is
-- built by sql::listing, padded by repeating the last group). Served by
-- queue_jobs_group_index as one exact range per group, read in index order (no
-- filesort): a group's delayed or running jobs are never read.
-- Guarantee: reads only.
WHERE queue = ? AND group_key IN {lanes} AND reserved_at IS NULL AND available_at <= NOW(6)
ORDER BY group_key, available_at, id
