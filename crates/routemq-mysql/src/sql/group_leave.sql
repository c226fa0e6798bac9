-- Deletes a lane from its queue's rotation. Params: queue, group.
-- Guarantee: in the claim's transaction, on a row it locked.
DELETE FROM queue_groups WHERE queue = ? AND group_key = ?
