-- clear: deletes a cleared queue's batch record. Params: batch id.
-- Guarantee: one autocommit primary-key DELETE; a settlement of a job of it
-- that comes later finds no record and changes nothing.
DELETE FROM queue_batches WHERE id = ?
