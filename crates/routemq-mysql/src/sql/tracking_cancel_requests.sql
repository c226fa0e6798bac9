-- Which running jobs have a cancel request. Params: the ids, then the owner
-- tokens (IN lists built by sql::tracking_cancel_requests). A token embeds its
-- row id, so id IN (...) AND owner IN (...) is exactly pairwise. Returns the
-- owners of flagged rows (primary-key lookups).
-- Guarantee: reads only; a lease no longer current is never returned.
SELECT owner FROM queue_jobs
WHERE id IN {ids} AND owner IN {owners} AND cancel_requested = 1
