-- hold_group, step 2: claims take no job of the group until NOW(6) + the
-- duration, unless a later hold is in place. Params: queue, group, duration in
-- microseconds. Portable upsert (derived table `new`, no VALUES()).
-- Guarantee: one row per (queue, group); held_until only moves later.
INSERT INTO queue_group_holds (queue, group_key, held_until)
SELECT * FROM (SELECT ? AS n_queue, ? AS n_group, NOW(6) + INTERVAL ? MICROSECOND AS n_held_until) AS new
ON DUPLICATE KEY UPDATE held_until = GREATEST(held_until, new.n_held_until)
