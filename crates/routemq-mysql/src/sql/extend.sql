-- Extends a live lease. Params: lease in microseconds, id, owner token. 0 rows =
-- lease lost or already expired (an expired lease may be reclaimed at any
-- moment, so it is not revived).
-- Guarantee: only the current owner of a live lease extends it; an expired lease is
-- never revived.
UPDATE queue_jobs
SET lease_until = NOW(6) + INTERVAL ? MICROSECOND
WHERE id = ? AND owner = ? AND lease_until > NOW(6)
