-- Resumes one queue. Params: queue.
-- Guarantee: one primary-key delete; affects 1 row when the queue was paused, 0
-- when it was not (then nothing changes).
DELETE FROM queue_paused WHERE queue = ?
