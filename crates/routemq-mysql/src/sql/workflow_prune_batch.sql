-- Deletes an expired batch record once its membership rows are gone. Params:
-- batch id.
-- Guarantee: one autocommit primary-key DELETE of a record past expires_at.
DELETE FROM queue_batches WHERE id = ? AND expires_at <= NOW(6)
