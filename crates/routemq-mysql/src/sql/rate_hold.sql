-- Holds one queue: claims take none of its jobs until NOW(6) + the duration,
-- unless a later hold is in place. Params: queue, duration in microseconds.
-- Portable upsert (derived table `new`, no VALUES()).
-- Guarantee: one row per queue; held_until only moves later; the limit is kept.
INSERT INTO queue_rate_limits (queue, held_until)
SELECT * FROM (SELECT ? AS n_queue, NOW(6) + INTERVAL ? MICROSECOND AS n_held_until) AS new
ON DUPLICATE KEY UPDATE held_until = GREATEST(COALESCE(held_until, new.n_held_until), new.n_held_until)
