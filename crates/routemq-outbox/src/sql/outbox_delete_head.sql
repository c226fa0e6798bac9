-- Deletes relayed rows after their jobs were pushed; the id list "(?, ?, ...)"
-- is added by sql::delete. Params: the row ids.
-- Guarantee: one autocommit DELETE; a relay that dies before it leaves the rows,
-- and the next pass pushes them again as no-ops (push_once).
DELETE FROM queue_outbox WHERE id IN
