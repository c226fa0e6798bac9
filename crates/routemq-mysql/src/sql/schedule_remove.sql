-- Deletes one schedule. Params: name.
-- Guarantee: one autocommit DELETE by primary key; jobs it enqueued stay.
DELETE FROM queue_schedules WHERE name = ?
