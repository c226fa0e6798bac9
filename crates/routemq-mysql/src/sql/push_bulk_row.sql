-- One job's tuple of a bulk push (see push_bulk_head.sql). Params as in push.sql:
-- uuid, queue, payload, max_tries, due Unix seconds, microseconds. sql::push_bulk
-- repeats it without this header.
(?, ?, ?, 0, ?, GREATEST(NOW(6), FROM_UNIXTIME(?) + INTERVAL ? MICROSECOND), NOW(6))
