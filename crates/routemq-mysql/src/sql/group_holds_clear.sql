-- Removes every group hold of one queue (clear_rate_limit). Params: queue.
-- Guarantee: in clear_rate_limit's transaction, after the limiter row's delete.
DELETE FROM queue_group_holds WHERE queue = ?
