-- One job's row of a multi-row INSERT (after push_bulk_head.sql), claimable now.
-- Params: uuid, queue, payload, max_tries, as in push_now.sql.
-- Guarantee: the whole multi-row INSERT is one statement: all rows or none.
(?, ?, ?, 0, ?, NOW(6), NOW(6))
