-- Reclaim, step 2a: make locked expired reservations claimable now, keeping
-- their attempts. Params: the ids (IN list built by sql::reclaim_release).
-- Guarantee: runs in the reclaim transaction on rows it locked, so a job that was
-- acked meanwhile is not revived.
UPDATE queue_jobs
SET reserved_at = NULL, owner = NULL, lease_until = NULL, claim_room = DEFAULT, available_at = NOW(6)
WHERE id IN
