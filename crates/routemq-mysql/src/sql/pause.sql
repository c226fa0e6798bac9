-- Pauses one queue: inserts its row unless there is one. Params: queue, queue.
-- Guarantee: at most one row per queue (primary key). Affects 1 row when the queue
-- was not paused, 0 when it was (nothing changes, no warning); of two concurrent
-- first pauses one inserts and the other fails with a duplicate-key error (1062),
-- which the driver reports as "was already paused".
INSERT INTO queue_paused (queue, paused_at)
SELECT ?, NOW(6) FROM DUAL
WHERE NOT EXISTS (SELECT 1 FROM queue_paused WHERE queue = ?)
