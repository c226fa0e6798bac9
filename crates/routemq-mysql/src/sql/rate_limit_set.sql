-- Sets (or replaces) one queue's rate limit, keeping its hold. Params: queue,
-- jobs, window in milliseconds. Portable upsert: the new values come from the
-- derived table `new` (no VALUES(), no `AS new` row alias).
-- Guarantee: one row per queue (primary key); the starts already in the window
-- keep counting.
INSERT INTO queue_rate_limits (queue, jobs, per_ms)
SELECT * FROM (SELECT ? AS n_queue, ? AS n_jobs, ? AS n_per_ms) AS new
ON DUPLICATE KEY UPDATE jobs = new.n_jobs, per_ms = new.n_per_ms
