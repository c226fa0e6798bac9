-- One job's row of a multi-row INSERT (after push_bulk_head.sql). Params: uuid,
-- queue, payload, max_tries, due time as whole Unix seconds and microseconds past
-- them. A due time already past means now, by the server's clock, as in push.sql.
-- Guarantee: the whole multi-row INSERT is one statement: all rows or none.
(?, ?, ?, 0, ?, GREATEST(NOW(6), FROM_UNIXTIME(?) + INTERVAL ? MICROSECOND), NOW(6))
