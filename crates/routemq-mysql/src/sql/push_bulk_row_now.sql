-- One job's tuple of a bulk push whose jobs are all claimable now (see
-- push_bulk_head.sql). Params as in push_now.sql: uuid, queue, payload,
-- max_tries. sql::push_bulk repeats it without this header.
(?, ?, ?, 0, ?, NOW(6), NOW(6))
