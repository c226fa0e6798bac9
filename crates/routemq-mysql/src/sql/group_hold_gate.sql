-- hold_group, step 1: make sure the queue has a limiter row (so claims check
-- its lanes) and lock it. Params: queue. Portable upsert; an existing row is
-- left as it is.
-- Guarantee: in hold_group's transaction; the limiter row is locked before the
-- hold row, in the claim's order, so the two never deadlock and a claim that
-- drops a spent row sees the new hold.
INSERT INTO queue_rate_limits (queue)
SELECT * FROM (SELECT ? AS n_queue) AS new
ON DUPLICATE KEY UPDATE queue = new.n_queue
