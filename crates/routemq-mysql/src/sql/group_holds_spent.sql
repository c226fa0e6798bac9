-- Drops a queue's group holds that have passed. Params: queue.
-- Guarantee: in the claim's transaction, under the limiter row's lock; a range
-- of the primary key; holds still on are never touched.
DELETE FROM queue_group_holds WHERE queue = ? AND held_until <= NOW(6)
