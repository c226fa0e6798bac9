-- One grouped job's row of a multi-row INSERT (after push_group_head.sql).
-- Params: uuid, queue, payload, max_tries, due time as whole Unix seconds and
-- microseconds past them, group (NULL for an ungrouped job of the same call).
-- Guarantee: the whole multi-row INSERT is one statement: all rows or none.
(?, ?, ?, 0, ?, GREATEST(NOW(6), FROM_UNIXTIME(?) + INTERVAL ? MICROSECOND), NOW(6), ?)
