-- Unique push, debounce: gives the holder (locked in step 1) the new payload,
-- max_tries and due time. Params: payload, max_tries, due time as whole Unix
-- seconds and microseconds past them (0, 0 = now), holder row id.
-- Guarantee: changes the row only while it was never claimed (0 attempts, not
-- reserved); 0 rows = it has started and nothing changed.
UPDATE queue_jobs
SET payload = ?, max_tries = ?,
    available_at = GREATEST(NOW(6), FROM_UNIXTIME(?) + INTERVAL ? MICROSECOND)
WHERE id = ? AND reserved_at IS NULL AND attempts = 0
