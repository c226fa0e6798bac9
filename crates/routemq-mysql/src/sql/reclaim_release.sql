-- Reclaim, step 2a: make locked expired reservations claimable now, keeping
-- their attempts. Params: the ids (IN list built by sql::reclaim_release).
UPDATE queue_jobs
SET reserved_at = NULL, owner = NULL, lease_until = NULL, available_at = NOW(6)
WHERE id IN
