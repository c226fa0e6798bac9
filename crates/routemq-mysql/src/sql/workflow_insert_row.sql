-- One workflow job's row (after workflow_insert_head.sql). Params: uuid, queue,
-- payload, max_tries, waiting (0/1), due time as whole Unix seconds and the
-- microseconds past them (0, 0 = now), waiting again, flow_next, flow_catch,
-- batch_id. A waiting row gets the sentinel due time '9999-12-31 00:00:00'
-- (migration 0013), so the claim never reaches it; another is due like a push.
-- Guarantee: part of one multi-row INSERT: all rows or none.
(?, ?, ?, 0, ?, IF(? = 1, '9999-12-31 00:00:00', GREATEST(NOW(6), FROM_UNIXTIME(?) + INTERVAL ? MICROSECOND)), NOW(6), ?, ?, ?, ?)
