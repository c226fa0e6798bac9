-- Release (or reclaim) of a job with a cancel request: lock the row while the
-- given owner holds it and it is flagged. Params: id, owner token. Returns id
-- (no row = the lease was lost).
-- Guarantee: FOR UPDATE in the transaction that records the job cancelled and
-- deletes it, so it is never made claimable again.
SELECT id FROM queue_jobs WHERE id = ? AND owner = ? AND cancel_requested = 1 FOR UPDATE
