-- Deletes one queue's rotation (after clear deleted its jobs). Params: queue.
-- Guarantee: one autocommit DELETE.
DELETE FROM queue_groups WHERE queue = ?
