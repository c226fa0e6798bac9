-- Retry to another store, last step: delete the row once its job is back on
-- its queue. Params: uuid, retry token.
-- Guarantee: one autocommit DELETE of the row only while it carries this
-- retry's token (a row forgotten or retried again meanwhile is left alone).
DELETE FROM queue_failed_jobs WHERE uuid = ? AND retry_token = ?
