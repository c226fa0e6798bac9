-- Sets (or replaces) one queue's group concurrency cap, keeping its limit and
-- hold. Params: queue, cap. Portable upsert (derived table `new`, no VALUES()).
-- Guarantee: one row per queue; jobs already running count at the next claim
-- (the running count is read from queue_jobs, not stored).
INSERT INTO queue_rate_limits (queue, group_concurrency)
SELECT * FROM (SELECT ? AS n_queue, ? AS n_cap) AS new
ON DUPLICATE KEY UPDATE group_concurrency = new.n_cap
