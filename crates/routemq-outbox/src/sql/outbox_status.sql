-- The outbox's backlog: rows waiting and the oldest one's age in microseconds
-- (NULL when empty). Params: none.
-- Guarantee: reads only; COUNT(*) scans the primary key (the backlog is what
-- the relay has not moved yet, normally small).
SELECT COUNT(*), TIMESTAMPDIFF(MICROSECOND, MIN(created_at), NOW(6)) FROM queue_outbox
